import type {
  ClaimedInboxEntry,
  Clock,
  EntryOutcome,
  InboxQueue,
  Logger,
  Metrics,
  ProcessInbox,
  TenantUnitOfWork,
} from '@prestabot/application';
import { PollingLoop } from './polling-loop.ts';

export type InboxWorkerOptions = {
  /** This process's name in leases (host, pid and a random part). */
  readonly owner: string;
  /** Most entries one round processes. */
  readonly batchSize: number;
  /** How long a claimed entry is ours; a crash past this hands it to another worker. */
  readonly leaseMs: number;
  /** How often an idle worker looks for work it was not handed (crashed peers, retries). */
  readonly idlePollMs: number;
  /** After this many failed attempts an entry is abandoned (kept, with its error, for an operator). */
  readonly maxAttempts: number;
};

export const defaultInboxWorkerOptions: Omit<InboxWorkerOptions, 'owner'> = {
  batchSize: 500,
  leaseMs: 30_000,
  idlePollMs: 1000,
  maxAttempts: 8,
};

export type InboxWorkerDependencies = {
  readonly inboxQueue: InboxQueue;
  readonly processInbox: ProcessInbox;
  readonly unitOfWork: TenantUnitOfWork;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Told which replies a round queued, so the sender can take them at once. */
  readonly onRepliesQueued: (outboxIds: readonly string[]) => void;
};

type Submitted = { readonly entries: readonly ClaimedInboxEntry[]; readonly done: () => void };

/** A sender's entries are processed one at a time, oldest first. */
const senderOf = (entry: ClaimedInboxEntry): string | undefined =>
  entry.orderingKey === undefined
    ? undefined
    : `${entry.tenantId}|${entry.phoneNumberId}|${entry.orderingKey}`;

/**
 * Processes the inbox entries this process holds, in rounds: what webhooks just stored here (under the
 * lease taken when they were stored, with no claim), and what a polling claim finds (entries of crashed
 * workers once their lease ran out, retries). One round runs at a time, and takes every entry handed in
 * meanwhile, so under load a round serves many webhooks. A failed entry is handed back with a growing
 * delay, and the sender's later entries held here with it, so they are answered in order; nothing is
 * dropped silently.
 */
export class InboxWorker {
  readonly #deps: InboxWorkerDependencies;
  readonly #options: InboxWorkerOptions;
  readonly #loop: PollingLoop;
  #waiting: Submitted[] = [];
  #round: Promise<void> | undefined;
  #stopping = false;

  constructor(dependencies: InboxWorkerDependencies, options: InboxWorkerOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#loop = new PollingLoop(async () => {
      const handled = await this.#claim();
      if (handled === 0) await this.#reportDepth();
      return handled;
    }, options.idlePollMs);
  }

  /** Processes entries this process holds; resolves once their round is over. Never rejects. */
  submit(entries: readonly ClaimedInboxEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return new Promise((done) => {
      this.#waiting.push({ entries, done });
      this.#startRound();
    });
  }

  start(): void {
    this.#stopping = false;
    this.#loop.start();
  }

  /** Stops claiming, then waits for the entries in hand to finish. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    while (this.#round !== undefined) await this.#round;
  }

  async #claim(): Promise<number> {
    if (this.#stopping) return 0;
    const { inboxQueue, clock, logger } = this.#deps;
    const { owner, batchSize, leaseMs } = this.#options;
    const claimed = await inboxQueue.claim({ owner, limit: batchSize, leaseMs, now: clock.now() });
    if (claimed.isErr()) {
      logger.error({ error: claimed.error.reason }, `cannot claim inbox entries: ${claimed.error.message}`);
      return 0;
    }
    await this.submit(claimed.value);
    return claimed.value.length;
  }

  #startRound(): void {
    if (this.#round !== undefined || this.#waiting.length === 0) return;
    this.#round = this.#runRound().finally(() => {
      this.#round = undefined;
      this.#startRound();
    });
  }

  async #runRound(): Promise<void> {
    const taken: Submitted[] = [];
    let size = 0;
    while (
      this.#waiting.length > 0 &&
      (size === 0 || size + this.#waiting[0]!.entries.length <= this.#options.batchSize)
    ) {
      const next = this.#waiting.shift()!;
      taken.push(next);
      size += next.entries.length;
    }
    const entries = taken.flatMap((submitted) => submitted.entries);
    try {
      const outcomes = await this.#deps.processInbox.execute(entries);
      const queued: string[] = [];
      for (const outcome of outcomes) {
        if (outcome.type === 'processed') queued.push(...outcome.enqueued);
        else if (outcome.type === 'lease_lost')
          this.#deps.logger.warn(
            fieldsOf(outcome.entry),
            'inbox entry taken over by another worker; nothing was done for it here',
          );
      }
      if (queued.length > 0) this.#deps.onRepliesQueued(queued);
      await this.#handBack(
        outcomes.filter((outcome) => outcome.type === 'failed' || outcome.type === 'deferred'),
      );
    } catch (bug) {
      this.#deps.logger.error(
        { error: bug instanceof Error ? bug.stack : String(bug) },
        'bug while processing inbox entries; their leases will expire and they will be retried',
      );
    } finally {
      for (const submitted of taken) submitted.done();
    }
  }

  /**
   * Hands failed entries back for a later attempt (abandoned after the last), and with them, due at once
   * but behind them, the later entries of their senders that wait here: the claim then hands each sender's
   * entries out in order.
   */
  async #handBack(outcomes: readonly EntryOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const senders = new Set(outcomes.flatMap(({ entry }) => senderOf(entry) ?? []));
    const behind: EntryOutcome[] = [];
    this.#waiting = this.#waiting.flatMap((submitted) => {
      const kept = submitted.entries.filter((entry) => {
        const sender = senderOf(entry);
        if (sender === undefined || !senders.has(sender)) return true;
        behind.push({ entry, type: 'deferred', reason: 'an earlier message of the sender is being retried' });
        return false;
      });
      if (kept.length === submitted.entries.length) return [submitted];
      if (kept.length === 0) {
        submitted.done();
        return [];
      }
      return [{ entries: kept, done: submitted.done }];
    });
    for (const outcome of [...outcomes, ...behind]) await this.#handBackOne(outcome);
  }

  async #handBackOne(outcome: EntryOutcome): Promise<void> {
    if (outcome.type !== 'failed' && outcome.type !== 'deferred') return;
    const { unitOfWork, clock, logger, metrics } = this.#deps;
    const { entry, reason } = outcome;
    const fields = fieldsOf(entry);
    const now = clock.now();
    const failed = outcome.type === 'failed';
    const abandon = failed && entry.attempts >= this.#options.maxAttempts;
    const retryAt = failed ? new Date(now.getTime() + Math.min(5 * 60_000, 1000 * 2 ** entry.attempts)) : now;
    const result = await unitOfWork.run(entry.tenantId, (repositories) =>
      abandon
        ? repositories.inbox.abandon(entry.id, entry.lease, now, reason)
        : repositories.inbox.release(entry.id, entry.lease, retryAt, reason),
    );
    if (abandon) {
      metrics.increment('inbox_abandoned_total');
      logger.error(
        { ...fields, attempts: entry.attempts, reason },
        `inbox entry abandoned after ${entry.attempts} attempts`,
      );
    } else if (failed)
      logger.warn(
        { ...fields, attempts: entry.attempts, retryAt: retryAt.toISOString(), reason },
        'inbox entry failed; it will be retried',
      );
    // If even that fails (database down), the lease runs out and the entry is retried anyway.
    if (result.isErr())
      logger.error(
        { ...fields, error: result.error.reason },
        'could not hand the inbox entry back; its lease will expire',
      );
  }

  async #reportDepth(): Promise<void> {
    const { inboxQueue, clock, metrics } = this.#deps;
    const now = clock.now();
    const depth = await inboxQueue.depth(now);
    if (depth.isErr()) return;
    metrics.set('queue_depth', depth.value.pending, { queue: 'inbox' });
    metrics.set(
      'queue_oldest_age_seconds',
      depth.value.oldestAt === undefined ? 0 : (now.getTime() - depth.value.oldestAt.getTime()) / 1000,
      { queue: 'inbox' },
    );
  }
}

const fieldsOf = (entry: ClaimedInboxEntry) => ({
  tenantId: entry.tenantId,
  phoneNumberId: entry.phoneNumberId,
  wamid: entry.item.wamid,
  inboxId: entry.id,
});
