import type { Clock } from '../ports/clock.port.ts';

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  #now: Date;

  constructor(start: Date = new Date('2026-03-02T12:00:00.000Z')) {
    this.#now = start;
  }

  now(): Date {
    return this.#now;
  }

  set(at: Date): void {
    this.#now = at;
  }

  advance(ms: number): void {
    this.#now = new Date(this.#now.getTime() + ms);
  }
}
