import type { Logger, SyncNumbers } from '@prestabot/application';
import { PollingLoop } from './polling-loop.ts';
import type { Timers } from './wake-up.ts';

/** How often the worker looks for numbers not synced for a day: one listing query when none is due. */
export const numberSyncCheckIntervalMs = 60 * 60_000;

export type NumberSyncWorkerDependencies = {
  readonly numbers: Pick<SyncNumbers, 'syncDue'>;
  readonly logger: Logger;
  readonly timers?: Timers;
};

/**
 * Re-reads Meta's view of every number once a day (its messaging limit, quality and throughput change
 * without a webhook reaching us when none is subscribed): a check at start, then one every hour.
 */
export class NumberSyncWorker {
  readonly #deps: NumberSyncWorkerDependencies;
  readonly #loop: PollingLoop;

  constructor(dependencies: NumberSyncWorkerDependencies, intervalMs = numberSyncCheckIntervalMs) {
    this.#deps = dependencies;
    this.#loop = new PollingLoop(() => this.syncDue(), intervalMs, dependencies.timers);
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Syncs the numbers that are due; always 0, so the loop sleeps until the next check (each number logs its own outcome). */
  async syncDue(): Promise<number> {
    const synced = await this.#deps.numbers.syncDue();
    if (synced.isErr())
      this.#deps.logger.error(
        { error: synced.error.reason },
        `cannot list the numbers to sync: ${synced.error.message}; trying again at the next check`,
      );
    return 0;
  }
}
