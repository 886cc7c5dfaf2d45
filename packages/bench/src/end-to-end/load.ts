// The load: Meta's signed webhooks, made before the run, offered open loop at a rate or closed loop
// with a fixed number in flight.
import { signWebhookBody } from '@prestabot/adapters-meta';
import { percentile } from '@prestabot/application/testing';
import { Pool } from 'undici';
import { type RunFixture, senderOf } from './fixture.ts';
import { now } from './sampling.ts';

/**
 * Meta's webhook JSON for one text message ("hola") from the message's sender, sent (its WhatsApp
 * timestamp) when the load is due to offer it: a returning contact's messages move their window on.
 */
const payloadFor = (fixture: RunFixture, index: number, sentAtMs: number) => {
  const number = fixture.numbers[index % fixture.numbers.length]!;
  const waId = senderOf(fixture, index);
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: fixture.wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: number.phoneNumberId },
              contacts: [{ profile: { name: `Bench ${waId}` }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: `wamid.HBgLbench${fixture.runId}${String(index).padStart(8, '0')}`,
                  timestamp: String(Math.floor(sentAtMs / 1000)),
                  type: 'text',
                  text: { body: 'hola' },
                },
              ],
            },
          },
        ],
      },
    ],
  };
};

export type Prepared = { readonly body: Buffer; readonly signature: string };

/**
 * Every body and signature made before the run, so the load generator spends its CPU on sending only; the
 * messages are timestamped as if offered at `rate` per second from now (by default all now).
 */
export const prepareWebhooks = async (
  fixture: RunFixture,
  total: number,
  rate = Number.POSITIVE_INFINITY,
): Promise<Prepared[]> => {
  const prepared: Prepared[] = new Array(total);
  const startMs = Date.now();
  for (let first = 0; first < total; first += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, total - first) }, async (_, offset) => {
        const index = first + offset;
        const body = Buffer.from(JSON.stringify(payloadFor(fixture, index, startMs + (index * 1000) / rate)));
        prepared[index] = { body, signature: await signWebhookBody(body, fixture.appSecret) };
      }),
    );
  }
  return prepared;
};

const webhookPool = (url: string, concurrency: number) =>
  new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });

const post = (pool: Pool, message: Prepared) =>
  pool.request({
    path: '/webhook',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': message.signature },
    body: message.body,
  });

export type LoadRecord = {
  /** When the message was due, and when its POST started (epoch ms). */
  readonly scheduledAt: Float64Array;
  readonly startedAt: Float64Array;
  /** Webhook answer time (ms) and status (0: no answer, the request failed). */
  readonly ackMs: Float64Array;
  readonly status: Int16Array;
  /** Messages 0 … sent-1 were posted; the rest were still waiting for room in flight when the run ended. */
  readonly sent: number;
  /** How many it was given. */
  readonly count: number;
  readonly startAt: number;
  readonly endedAt: number;
  readonly requestErrors: string[];
};

/** A message still waiting for room in flight this long after the last one was due is not sent at all. */
const stopGraceMs = 1000;

/**
 * When messages fall due, in ms from the start of the load: `rate` a second, reached by a linear ramp over
 * `rampMs` (none: the full rate from the first message). Ramping, the messages due by t are rate·t²/2R;
 * after it, rate·(t − R/2).
 */
export const loadSchedule = (rate: number, rampMs: number) => {
  const perMs = rate / 1000;
  const rampMessages = (perMs * rampMs) / 2;
  return {
    /** How many messages are due `elapsedMs` into the load: none before it starts. */
    dueBy: (elapsedMs: number): number =>
      elapsedMs < 0
        ? 0
        : Math.floor(
            elapsedMs < rampMs
              ? (perMs * elapsedMs * elapsedMs) / (2 * rampMs)
              : perMs * (elapsedMs - rampMs / 2),
          ) + 1,
    /** When message `index` is due, in ms from the start. */
    dueAt: (index: number): number =>
      index < rampMessages ? Math.sqrt((2 * rampMs * index) / perMs) : index / perMs + rampMs / 2,
  };
};

/**
 * Offers `rate` messages a second for `durationMs`, after a ramp of `rampMs` if given (open loop: each
 * message is due at its own time, whether or not the host answered the previous ones), with at most
 * `concurrency` requests in flight over keep-alive connections. A message due while the limit is reached
 * starts as soon as a request finishes; once the run is over (plus a second), what has not started yet is
 * not sent.
 */
export const offerLoad = (
  url: string,
  prepared: readonly Prepared[],
  offer: {
    readonly rate: number;
    readonly durationMs: number;
    readonly concurrency: number;
    readonly rampMs?: number;
  },
): Promise<LoadRecord> => {
  const count = prepared.length;
  const pool = webhookPool(url, offer.concurrency);
  const record = {
    scheduledAt: new Float64Array(count),
    startedAt: new Float64Array(count),
    ackMs: new Float64Array(count),
    status: new Int16Array(count),
    requestErrors: [] as string[],
  };
  const schedule = loadSchedule(offer.rate, offer.rampMs ?? 0);
  const startAt = now() + 50;
  const stopAt = startAt + offer.durationMs + stopGraceMs;
  let next = 0;
  let inFlight = 0;
  let finished = false;
  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      void pool.close().then(() => resolve({ ...record, sent: next, count, startAt, endedAt: now() }));
    };
    const launch = (index: number) => {
      inFlight += 1;
      const t0 = now();
      record.scheduledAt[index] = startAt + schedule.dueAt(index);
      record.startedAt[index] = t0;
      post(pool, prepared[index]!)
        .then(
          async (response) => {
            await response.body.dump();
            record.status[index] = response.statusCode;
            record.ackMs[index] = now() - t0;
          },
          (error: unknown) => {
            record.status[index] = 0;
            record.ackMs[index] = now() - t0;
            if (record.requestErrors.length < 5) record.requestErrors.push(String(error));
          },
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    };
    const pump = () => {
      const at = now();
      if (next < count && at < stopAt) {
        const due = Math.min(count, schedule.dueBy(at - startAt));
        while (next < due && inFlight < offer.concurrency) {
          launch(next);
          next += 1;
        }
      } else if (inFlight === 0) finish();
    };
    const ticker = setInterval(pump, 1);
  });
};

export type Saturated = {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non200: number;
  /** How many bodies it used (each once, unless `reuse`). */
  readonly used: number;
};

/**
 * Closed loop: `concurrency` requests always in flight for `ms`, each the next body (cycling through
 * them if `reuse`, else stopping when they run out). Counts the 200s a second and their latency.
 */
export const saturate = async (
  url: string,
  bodies: readonly Prepared[],
  closedLoop: { readonly ms: number; readonly reuse: boolean; readonly concurrency: number },
): Promise<Saturated> => {
  const pool = webhookPool(url, closedLoop.concurrency);
  const latencies: number[] = [];
  let next = 0;
  let non200 = 0;
  const started = now();
  const until = started + closedLoop.ms;
  const client = async () => {
    while (now() < until && (closedLoop.reuse || next < bodies.length)) {
      const message = bodies[next % bodies.length]!;
      next += 1;
      const t0 = now();
      const response = await post(pool, message);
      await response.body.dump();
      if (response.statusCode === 200) latencies.push(now() - t0);
      else non200 += 1;
    }
  };
  await Promise.all(Array.from({ length: closedLoop.concurrency }, client));
  const elapsedSeconds = (now() - started) / 1000;
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    perSecond: latencies.length / elapsedSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    non200,
    used: next,
  };
};
