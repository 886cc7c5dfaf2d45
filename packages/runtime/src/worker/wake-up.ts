import type { Timers } from '@prestabot/application';

// The workers wait on the application's timers port; the host's own timers live here.
export type { Timers };

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
};

/** A sleep that can be cut short: loops wait on it when idle and are poked awake when work arrives. */
export class WakeUp {
  readonly #timers: Timers;
  #wake: (() => void) | undefined;
  #timer: unknown;
  #pending = false;

  constructor(timers: Timers = systemTimers) {
    this.#timers = timers;
  }

  /** Resolves after `ms`, or earlier when `wake()` is called (also if it was called since the last sleep). */
  sleep(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#timers.setTimeout(() => this.wake(), ms);
    });
  }

  wake(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake === undefined) this.#pending = true;
    else wake();
  }
}

/** Runs `work` over `items` with at most `limit` at a time; resolves when all are done. */
export const forEachWithLimit = async <T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> => {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
};
