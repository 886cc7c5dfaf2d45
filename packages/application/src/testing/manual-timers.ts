import type { Timers } from '../ports/timers.port.ts';
import type { ManualClock } from './manual-clock.ts';

/** Lets every promise chain of the in-memory ports settle (they never touch real I/O). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Timers on a manual clock. `runFor` fires them in time order, moving the clock to each; `stall` moves the
 * clock first and fires what became due afterwards, late, as after a blocked event loop.
 */
export class ManualTimers implements Timers {
  readonly #clock: ManualClock;
  readonly #pending = new Map<number, { readonly at: number; readonly callback: () => void }>();
  #nextId = 0;

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  setTimeout = (callback: () => void, delayMs: number): unknown => {
    this.#nextId += 1;
    this.#pending.set(this.#nextId, { at: this.#clock.now().getTime() + Math.max(0, delayMs), callback });
    return this.#nextId;
  };

  clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };

  async runFor(ms: number): Promise<void> {
    const until = this.#clock.now().getTime() + ms;
    await settle();
    for (let next = this.#earliest(); next !== undefined && next[1].at <= until; next = this.#earliest()) {
      const [id, timer] = next;
      this.#pending.delete(id);
      if (timer.at > this.#clock.now().getTime()) this.#clock.set(new Date(timer.at));
      timer.callback();
      await settle();
      await settle();
    }
    this.#clock.set(new Date(until));
  }

  async stall(ms: number): Promise<void> {
    this.#clock.advance(ms);
    const now = this.#clock.now().getTime();
    for (let next = this.#earliest(); next !== undefined && next[1].at <= now; next = this.#earliest()) {
      this.#pending.delete(next[0]);
      next[1].callback();
    }
    await settle();
    await settle();
  }

  #earliest() {
    let earliest: [number, { readonly at: number; readonly callback: () => void }] | undefined;
    for (const entry of this.#pending)
      if (earliest === undefined || entry[1].at < earliest[1].at) earliest = entry;
    return earliest;
  }
}
