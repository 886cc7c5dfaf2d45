import type { Clock, FinishedWorkRetention, Logger } from '@prestabot/application';
import { PollingLoop } from './polling-loop.ts';
import type { Timers } from './wake-up.ts';

const dayMs = 24 * 60 * 60_000;

export type RetentionWorkerOptions = {
  /** Rows that finished longer ago than this are pruned (`PRESTABOT_RETENTION_DAYS`). */
  readonly retentionDays: number;
  /** Rows of each queue per statement: short transactions, short locks, however large the backlog. */
  readonly batchSize: number;
  /** The wait between sweeps; a sweep runs batch after batch until one comes back short. */
  readonly intervalMs: number;
};

export const defaultRetentionWorkerOptions: Omit<RetentionWorkerOptions, 'retentionDays'> = {
  batchSize: 5000,
  intervalMs: 60 * 60_000,
};

export type RetentionWorkerDependencies = {
  readonly retention: FinishedWorkRetention;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers?: Timers;
};

/**
 * Prunes every tenant's finished inbox entries and outbox messages once they are older than the retention
 * period: a sweep at start, then one every hour. Unfinished rows are never touched. Several workers may
 * sweep at once: a row one of them is deleting, the others skip.
 */
export class RetentionWorker {
  readonly #deps: RetentionWorkerDependencies;
  readonly #options: RetentionWorkerOptions;
  readonly #loop: PollingLoop;

  constructor(dependencies: RetentionWorkerDependencies, options: RetentionWorkerOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#loop = new PollingLoop(() => this.pruneBatch(), options.intervalMs, dependencies.timers);
  }

  start(): void {
    this.#loop.start();
  }

  /** Waits for the batch in progress; the rest of a sweep is left for the next one. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /**
   * Prunes one batch and logs what went. Returns how many rows went while a batch comes back full (more
   * may be waiting: the loop goes straight on), and 0 once one comes back short or the store fails (the
   * next sweep tries again).
   */
  async pruneBatch(): Promise<number> {
    const { retention, clock, logger } = this.#deps;
    const { retentionDays, batchSize } = this.#options;
    const before = new Date(clock.now().getTime() - retentionDays * dayMs);
    const pruned = await retention.pruneFinished(before, batchSize);
    if (pruned.isErr()) {
      logger.error(
        { error: pruned.error.reason },
        `cannot prune finished queue rows: ${pruned.error.message}; trying again at the next sweep`,
      );
      return 0;
    }
    const { inbox, outbox } = pruned.value;
    if (inbox + outbox > 0)
      logger.info(
        { inbox, outbox, finishedBefore: before.toISOString() },
        'pruned finished inbox entries and outbox messages',
      );
    return inbox === batchSize || outbox === batchSize ? inbox + outbox : 0;
  }
}
