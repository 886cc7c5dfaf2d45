/**
 * Meta's throughput limit for one number: at most `limit` messages in any sliding second. A message
 * counts from the moment it was accepted; rejected attempts do not use up the allowance.
 */
export class SlidingWindowLimit {
  readonly #windowMs: number;
  /** Accepted times, oldest first; only the last `windowMs` are kept. */
  readonly #times: number[] = [];
  #head = 0;

  constructor(windowMs = 1000) {
    this.#windowMs = windowMs;
  }

  /** Whether one more message at `now` keeps the window that ends at `now` within `limit`. */
  hasRoom(now: number, limit: number): boolean {
    while (this.#head < this.#times.length && this.#times[this.#head]! <= now - this.#windowMs)
      this.#head += 1;
    // Compact now and then instead of shifting on every call.
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#times.length - this.#head < limit;
  }

  record(now: number): void {
    this.#times.push(now);
  }
}

export type PairLimitSettings = {
  /** Messages to one person that may go out back to back. */
  readonly burst: number;
  /** One more message is allowed every `refillMs`. */
  readonly refillMs: number;
};

/** Meta's (business, consumer) pair limit: about 1 message every 6 s to one person, after a burst of 45. */
export const metaPairLimit: PairLimitSettings = { burst: 45, refillMs: 6000 };

type Bucket = { tokens: number; at: number };

/** A token bucket per (number, recipient). Buckets that have refilled completely are forgotten. */
export class PairLimit {
  readonly #settings: PairLimitSettings;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweepAt = 0;

  constructor(settings: PairLimitSettings) {
    this.#settings = settings;
  }

  tryAcquire(key: string, now: number): boolean {
    this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#settings.burst, at: now };
    const tokens = this.#refilled(bucket, now);
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      return false;
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    return true;
  }

  #refilled(bucket: Bucket, now: number): number {
    return Math.min(this.#settings.burst, bucket.tokens + (now - bucket.at) / this.#settings.refillMs);
  }

  /** Keeps memory flat in long runs to many recipients. */
  #sweep(now: number): void {
    if (now - this.#lastSweepAt < 10_000) return;
    this.#lastSweepAt = now;
    for (const [key, bucket] of this.#buckets) {
      if (this.#refilled(bucket, now) >= this.#settings.burst) this.#buckets.delete(key);
    }
  }
}

/**
 * Meta's messaging limit: the unique people one business portfolio may reach with business-initiated
 * messages (templates) in a moving 24 hours, counted when a message is accepted. A person reached within
 * the window costs nothing more.
 */
export class PortfolioReach {
  readonly #windowMs: number;
  /** Portfolio → recipient → when a template to them was last accepted. */
  readonly #reached = new Map<string, Map<string, number>>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Whether a template to `recipient` at `now` keeps the portfolio within `limit`. */
  admits(portfolio: string, recipient: string, now: number, limit: number | 'unlimited'): boolean {
    const reached = this.#within(portfolio, now);
    return limit === 'unlimited' || reached.has(recipient) || reached.size < limit;
  }

  record(portfolio: string, recipient: string, now: number): void {
    this.#within(portfolio, now).set(recipient, now);
  }

  /** The portfolio's recipients still inside the window; the others are forgotten. */
  #within(portfolio: string, now: number): Map<string, number> {
    let reached = this.#reached.get(portfolio);
    if (reached === undefined) {
      reached = new Map();
      this.#reached.set(portfolio, reached);
    }
    for (const [recipient, at] of reached) if (at <= now - this.#windowMs) reached.delete(recipient);
    return reached;
  }
}
