import { systemTimers, type Timers, WakeUp } from './wake-up.ts';

/**
 * Runs `tick` again and again: straight away while it finds work, after `idleMs` when it found none,
 * sooner when poked. `stop` waits for the tick in progress.
 */
export class PollingLoop {
  readonly #tick: () => Promise<number>;
  readonly #idleMs: number;
  readonly #wakeUp: WakeUp;
  #running: Promise<void> | undefined;
  #stopping = false;

  /** `tick` returns how much work it did; 0 means idle. */
  constructor(tick: () => Promise<number>, idleMs: number, timers: Timers = systemTimers) {
    this.#tick = tick;
    this.#idleMs = idleMs;
    this.#wakeUp = new WakeUp(timers);
  }

  start(): void {
    if (this.#running !== undefined) return;
    this.#stopping = false;
    this.#running = this.#run();
  }

  poke(): void {
    this.#wakeUp.wake();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp.wake();
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const done = await this.#tick();
      if (done === 0 && !this.#stopping) await this.#wakeUp.sleep(this.#idleMs);
    }
  }
}
