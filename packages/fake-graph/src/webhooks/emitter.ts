import { createHmac } from 'node:crypto';
import { Agent, request } from 'undici';

/** The most deliveries kept for inspection; older ones are forgotten. */
const maxKeptDeliveries = 100_000;

/** Where webhooks go, and how hard the fake tries. */
export type WebhookTarget = {
  readonly url: string;
  /** Signs webhooks of numbers without their own app secret. */
  readonly appSecret: string;
  /** Attempts per delivery, the first included (default 6). */
  readonly maxAttempts?: number;
  /** Wait before the second attempt; it doubles each time. Meta spreads retries over 7 days; tests over seconds. */
  readonly retryBaseMs?: number;
  /** How long one attempt may take (default 10 s). */
  readonly attemptTimeoutMs?: number;
};

export type DeliveryAttempt = {
  readonly at: number;
  /** The HTTP status the receiver answered; absent when the request itself failed. */
  readonly status?: number;
  readonly error?: string;
};

/** One webhook POST, with every attempt to deliver it. */
export type WebhookDelivery = {
  readonly id: number;
  /** The exact bytes sent (ASCII, Meta's escaping) and their signature. */
  readonly body: string;
  readonly signature: string;
  /** Messages, statuses and errors the body carries. */
  readonly itemCount: number;
  readonly attempts: readonly DeliveryAttempt[];
  /** `delivered` once the receiver answered 200; `failed` after the last attempt. */
  readonly outcome: 'pending' | 'delivered' | 'failed';
};

type MutableDelivery = Omit<WebhookDelivery, 'attempts' | 'outcome'> & {
  attempts: DeliveryAttempt[];
  outcome: WebhookDelivery['outcome'];
};

/**
 * Delivers webhook bodies like Meta: signed with `X-Hub-Signature-256` over the exact bytes, success only
 * on HTTP 200 (redirects are not followed), anything else retried with exponential backoff.
 */
export class WebhookEmitter {
  readonly #target: WebhookTarget;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000 });
  readonly #deliveries: MutableDelivery[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #retryTimers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  #nextId = 0;
  #closed = false;

  constructor(target: WebhookTarget) {
    this.#target = target;
  }

  get deliveries(): readonly WebhookDelivery[] {
    return this.#deliveries;
  }

  /** Sends `body` signed with `secret`; resolves when it was delivered or given up. */
  async deliver(body: string, secret: string, itemCount: number): Promise<WebhookDelivery> {
    // node:crypto rather than WebCrypto: in a benchmark the fake signs thousands of webhooks a second on the
    // same two cores as the host it measures. A property test ties the two HMACs together.
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    this.#nextId += 1;
    const delivery: MutableDelivery = {
      id: this.#nextId,
      body,
      signature,
      itemCount,
      attempts: [],
      outcome: 'pending',
    };
    this.#deliveries.push(delivery);
    // A long benchmark sends millions: only the latest are kept for inspection.
    if (this.#deliveries.length > maxKeptDeliveries) this.#deliveries.splice(0, this.#deliveries.length / 2);
    const run = this.#attemptUntilDone(delivery);
    this.#inFlight.add(run);
    await run.finally(() => this.#inFlight.delete(run));
    return delivery;
  }

  /** Resolves once every delivery started so far was delivered or given up. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  forgetDeliveries(): void {
    this.#deliveries.length = 0;
  }

  /** Stops retrying (pending deliveries end as `failed`) and closes connections. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wait of this.#retryTimers) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    await this.settled();
    await this.#agent.close();
  }

  async #attemptUntilDone(delivery: MutableDelivery): Promise<void> {
    const maxAttempts = this.#target.maxAttempts ?? 6;
    const baseMs = this.#target.retryBaseMs ?? 500;
    for (let attempt = 1; !this.#closed; attempt += 1) {
      const result = await this.#attempt(delivery);
      delivery.attempts.push(result);
      if (result.status === 200) {
        delivery.outcome = 'delivered';
        return;
      }
      if (attempt >= maxAttempts) break;
      await this.#wait(baseMs * 2 ** (attempt - 1));
    }
    delivery.outcome = 'failed';
  }

  async #attempt(delivery: MutableDelivery): Promise<DeliveryAttempt> {
    const at = Date.now();
    try {
      const response = await request(this.#target.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'facebookexternalua',
          'x-hub-signature-256': delivery.signature,
        },
        body: delivery.body,
        signal: AbortSignal.timeout(this.#target.attemptTimeoutMs ?? 10_000),
      });
      await response.body.dump();
      return { at, status: response.statusCode };
    } catch (error) {
      return { at, error: error instanceof Error ? error.message : String(error) };
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wait = {
        timer: setTimeout(() => {
          this.#retryTimers.delete(wait);
          resolve();
        }, ms),
        resolve,
      };
      this.#retryTimers.add(wait);
    });
  }
}
