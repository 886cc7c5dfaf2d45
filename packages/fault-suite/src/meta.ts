import { signWebhookBody } from '@prestabot/adapters-meta';
import { Agent, request } from 'undici';

/** One inbound text message, from a sender nobody else uses: every reply to that sender answers it. */
export type InboundMessage = {
  readonly index: number;
  readonly sender: string;
  readonly body: Buffer;
  readonly signature: string;
};

const wabaId = '102290129340398';

/** The sender of message `index` of a scenario: `569` and eight digits, a Chilean mobile number. */
export const senderOf = (index: number): string => `569${String(index).padStart(8, '0')}`;

/** Meta's webhook JSON for one text message to one number. */
export const textWebhook = (
  phoneNumberId: string,
  sender: string,
  wamid: string,
  text = 'hola',
): Record<string, unknown> => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: wabaId,
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
            contacts: [{ profile: { name: `Sender ${sender.slice(-4)}` }, wa_id: sender }],
            messages: [
              {
                from: sender,
                id: wamid,
                timestamp: String(Math.floor(Date.now() / 1000)),
                type: 'text',
                text: { body: text },
              },
            ],
          },
        },
      ],
    },
  ],
});

export const signedMessages = async (
  phoneNumberIds: readonly string[],
  count: number,
  appSecret: string,
): Promise<InboundMessage[]> =>
  Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const sender = senderOf(index);
      const phoneNumberId = phoneNumberIds[index % phoneNumberIds.length]!;
      const body = Buffer.from(
        JSON.stringify(textWebhook(phoneNumberId, sender, `wamid.faults${String(index).padStart(8, '0')}`)),
      );
      return { index, sender, body, signature: await signWebhookBody(body, appSecret) };
    }),
  );

/** What the webhook endpoint answered over a run. */
export type Answers = {
  /** Answers by HTTP status; 0 counts requests that got no answer (refused, reset). */
  readonly byStatus: Map<number, number>;
  /** When each message's first delivery started (epoch ms). */
  readonly firstPostAt: Float64Array;
  /** When each message was first acknowledged with a 200 (epoch ms; 0 if never). */
  readonly acknowledgedAt: Float64Array;
};

export type DeliveryOptions = {
  readonly hostUrls: readonly string[];
  /** Messages per second, open loop. */
  readonly rate: number;
  /** Share of messages delivered a second time, 0.2–3 s after their first 200, out of order. */
  readonly redeliveryShare: number;
  /** Stop retrying a message after this long (Meta retries for days; the suite cannot). */
  readonly giveUpAfterMs: number;
  /** Deliver each message to every host at the same moment (two deliveries racing), not to one. */
  readonly toEveryHost?: boolean;
};

/** One POST to the webhook route, signed when a signature is given: its status, 0 when none came. */
const postWebhook = async (
  agent: Agent,
  hostUrl: string,
  payload: { readonly body: Buffer; readonly signature: string | undefined },
): Promise<number> => {
  try {
    const response = await request(`${hostUrl}/webhook`, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/json',
        ...(payload.signature === undefined ? {} : { 'x-hub-signature-256': payload.signature }),
      },
      body: payload.body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Plays Meta: posts each message at its time, retries with backoff until it gets a 200 (as Meta does for
 * a failed webhook), and redelivers a share of them again later. Resolves once every delivery has its
 * 200 or has given up.
 */
export const deliverAll = async (
  messages: readonly InboundMessage[],
  options: DeliveryOptions,
  random: () => number = Math.random,
): Promise<Answers> => {
  const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
  const answers: Answers = {
    byStatus: new Map(),
    firstPostAt: new Float64Array(messages.length),
    acknowledgedAt: new Float64Array(messages.length),
  };
  const count = (status: number) => answers.byStatus.set(status, (answers.byStatus.get(status) ?? 0) + 1);
  const deliverUntilOk = async (
    message: InboundMessage,
    startedAt: number,
    host = message.index,
  ): Promise<boolean> => {
    for (let attempt = 0; Date.now() - startedAt < options.giveUpAfterMs; attempt += 1) {
      const hostUrl = options.hostUrls[(host + attempt) % options.hostUrls.length]!;
      const status = await postWebhook(agent, hostUrl, message);
      count(status);
      if (status === 200) return true;
      await sleep(Math.min(100 * 2 ** attempt, 2000));
    }
    return false;
  };
  const startAt = Date.now() + 20;
  const deliveries = messages.map(async (message) => {
    await sleep(startAt + (message.index * 1000) / options.rate - Date.now());
    const firstAt = Date.now();
    answers.firstPostAt[message.index] = firstAt;
    const delivered = options.toEveryHost
      ? (await Promise.all(options.hostUrls.map((_, host) => deliverUntilOk(message, firstAt, host)))).some(
          Boolean,
        )
      : await deliverUntilOk(message, firstAt);
    if (!delivered) return;
    answers.acknowledgedAt[message.index] = Date.now();
    if (random() < options.redeliveryShare) {
      await sleep(200 + random() * 2800);
      await deliverUntilOk(message, Date.now());
    }
  });
  await Promise.all(deliveries);
  await agent.close();
  return answers;
};

/** Posts each payload once, `concurrency` at a time, and counts the answers by status (0: no answer). */
export const postOnce = async (
  hostUrl: string,
  payloads: readonly { readonly body: Buffer; readonly signature: string | undefined }[],
  concurrency: number,
): Promise<Map<number, number>> => {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const byStatus = new Map<number, number>();
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) {
      const payload = payloads[next]!;
      next += 1;
      const status = await postWebhook(agent, hostUrl, payload);
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  await agent.close();
  return byStatus;
};
