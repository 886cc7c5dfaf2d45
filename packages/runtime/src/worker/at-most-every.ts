/**
 * Lets something periodic through at most once per interval of the time it is given: the queue depth a
 * worker reports costs a statement, and its loop may go round many times a second (busy) or every second
 * (idle).
 */
export class AtMostEvery {
  readonly #intervalMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Whether it is due at `now`; saying so starts the next interval. */
  due(now: Date): boolean {
    if (now.getTime() - this.#lastAt < this.#intervalMs) return false;
    this.#lastAt = now.getTime();
    return true;
  }
}
