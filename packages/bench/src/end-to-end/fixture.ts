/** The run's numbers, secrets and senders: made once, shared by the deployment, the load and the report. */
export type RunFixture = {
  /** Six digits that keep this run's ids apart from any other's. */
  readonly runId: string;
  readonly numbers: readonly { readonly phoneNumberId: string; readonly accessToken: string }[];
  readonly wabaId: string;
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly encryptionKey: string;
};

export const runFixture = (tenantCount: number): RunFixture => {
  const runId = String(Date.now() % 1_000_000).padStart(6, '0');
  return {
    runId,
    numbers: Array.from({ length: tenantCount }, (_, index) => ({
      phoneNumberId: `1${runId}${String(index + 1).padStart(8, '0')}`,
      accessToken: `EAAG-bench-${runId}-${index + 1}`,
    })),
    wabaId: '102290129340398',
    appSecret: `bench-app-secret-${crypto.randomUUID()}`,
    verifyToken: `bench-verify-${crypto.randomUUID()}`,
    encryptionKey: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64'),
  };
};

/** Senders are +569 followed by 8 digits: the index of the one message each sends. */
export const senderOf = (index: number) => `569${String(index).padStart(8, '0')}`;
export const messageIndexOf = (phone: string): number | undefined => {
  const match = /^\+569(\d{8})$/.exec(phone);
  return match === null ? undefined : Number(match[1]);
};
