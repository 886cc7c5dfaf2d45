/** The run's numbers, secrets and senders: made once, shared by the deployment, the load and the report. */
export type RunFixture = {
  /** Six digits that keep this run's ids apart from any other's. */
  readonly runId: string;
  readonly numbers: readonly { readonly phoneNumberId: string; readonly accessToken: string }[];
  readonly wabaId: string;
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly encryptionKey: string;
  /** How many people write: message `i` comes from sender `i % senders` (by default each from its own). */
  readonly senders: number;
};

export const runFixture = (tenantCount: number, senders = Number.POSITIVE_INFINITY): RunFixture => {
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
    senders,
  };
};

/** Senders are +569 followed by 8 digits: their number among the run's senders. */
export const senderOf = (fixture: RunFixture, index: number) =>
  `569${String(index % fixture.senders).padStart(8, '0')}`;

/**
 * The messages a sender (by its phone, as a reply names it) sent in a run of `total` and had acknowledged,
 * in the order they were offered: a person's messages are answered in order, so their k-th reply answers
 * their k-th such message (one refused, stored nowhere, gets none).
 */
export const messagesOfSender =
  (fixture: RunFixture, total: number, acknowledged: (index: number) => boolean = () => true) =>
  (phone: string): readonly number[] | undefined => {
    const match = /^\+569(\d{8})$/.exec(phone);
    const sender = match === null ? undefined : Number(match[1]);
    // Not a sender of the run, or one whose first message was never offered.
    if (sender === undefined || sender >= fixture.senders || sender >= total) return undefined;
    const messages: number[] = [];
    for (let index = sender; index < total; index += fixture.senders)
      if (acknowledged(index)) messages.push(index);
    return messages;
  };
