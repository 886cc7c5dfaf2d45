import type {
  ClaimedInboxEntry,
  Clock,
  InboxQueue,
  Logger,
  Metrics,
  ProcessInboxEntry,
  TenantUnitOfWork,
} from '@prestabot/application';
import { PollingLoop } from './polling-loop.ts';
import { forEachWithLimit } from './wake-up.ts';

export type InboxWorkerOptions = {
  /** This process's name in leases (host, pid and a random part). */
  readonly owner: string;
  /** Entries processed at once. */
  readonly concurrency: number;
  readonly batchSize: number;
  /** How long a claimed entry is ours; a crash past this hands it to another worker. */
  readonly leaseMs: number;
  /** How often an idle worker looks for work it was not told about (crashed peers, retries). */
  readonly idlePollMs: number;
  /** After this many failed attempts an entry is abandoned (kept, with its error, for an operator). */
  readonly maxAttempts: number;
};

export const defaultInboxWorkerOptions: Omit<InboxWorkerOptions, 'owner'> = {
  concurrency: 8,
  batchSize: 64,
  leaseMs: 30_000,
  idlePollMs: 1000,
  maxAttempts: 8,
};

export type InboxWorkerDependencies = {
  readonly inboxQueue: InboxQueue;
  readonly processInboxEntry: ProcessInboxEntry;
  readonly unitOfWork: TenantUnitOfWork;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called when processing queued replies, so the sender can start at once. */
  readonly onRepliesQueued: () => void;
};

/**
 * Processes inbox entries: right after a webhook stored them (`processNow`), and in a polling loop for
 * whatever is left (entries of crashed workers once their lease ran out, retries). Failures hand the
 * entry back with a growing delay; nothing is dropped silently.
 */
export class InboxWorker {
  readonly #deps: InboxWorkerDependencies;
  readonly #options: InboxWorkerOptions;
  readonly #loop: PollingLoop;
  readonly #inFlight = new Set<Promise<void>>();
  #stopping = false;

  constructor(dependencies: InboxWorkerDependencies, options: InboxWorkerOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#loop = new PollingLoop(async () => {
      const handled = await this.#claimAndProcess(undefined);
      if (handled === 0) await this.#reportDepth();
      return handled;
    }, options.idlePollMs);
  }

  /** Processes these entries now, unless another worker already holds them. Never rejects. */
  processNow(ids: readonly string[]): Promise<void> {
    if (ids.length === 0 || this.#stopping) return Promise.resolve();
    const run: Promise<void> = this.#claimAndProcess(ids).then(
      () => undefined,
      (bug: unknown) =>
        this.#deps.logger.error({ error: String(bug) }, 'bug while processing new inbox entries'),
    );
    run.finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
    return run;
  }

  start(): void {
    this.#stopping = false;
    this.#loop.start();
  }

  /** Stops claiming, then waits for the entries in hand to finish. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    await Promise.all(this.#inFlight);
  }

  async #claimAndProcess(ids: readonly string[] | undefined): Promise<number> {
    const { inboxQueue, clock, logger } = this.#deps;
    const { owner, batchSize, leaseMs, concurrency } = this.#options;
    const claimed = await inboxQueue.claim({
      owner,
      limit: ids?.length ?? batchSize,
      leaseMs,
      now: clock.now(),
      ...(ids === undefined ? {} : { ids }),
    });
    if (claimed.isErr()) {
      logger.error({ error: claimed.error.reason }, `cannot claim inbox entries: ${claimed.error.message}`);
      return 0;
    }
    await forEachWithLimit(claimed.value, concurrency, (entry) => this.#process(entry));
    return claimed.value.length;
  }

  async #process(entry: ClaimedInboxEntry): Promise<void> {
    const fields = {
      tenantId: entry.tenantId,
      phoneNumberId: entry.phoneNumberId,
      wamid: entry.item.wamid,
      inboxId: entry.id,
    };
    try {
      const outcome = await this.#deps.processInboxEntry.execute(entry);
      if (outcome.isErr()) {
        await this.#handBack(entry, `storage ${outcome.error.reason}: ${outcome.error.message}`, fields);
        return;
      }
      if (outcome.value.type === 'processed' && outcome.value.enqueued.length > 0)
        this.#deps.onRepliesQueued();
      if (outcome.value.type === 'lease_lost')
        this.#deps.logger.warn(
          fields,
          'inbox entry taken over by another worker; this attempt was rolled back',
        );
    } catch (bug) {
      this.#deps.logger.error(
        { ...fields, error: bug instanceof Error ? bug.stack : String(bug) },
        'bug while processing an inbox entry',
      );
      await this.#handBack(entry, bug instanceof Error ? bug.message : String(bug), fields);
    }
  }

  async #handBack(entry: ClaimedInboxEntry, reason: string, fields: Record<string, unknown>): Promise<void> {
    const { unitOfWork, clock, logger } = this.#deps;
    const now = clock.now();
    const abandon = entry.attempts >= this.#options.maxAttempts;
    const retryAt = new Date(now.getTime() + Math.min(5 * 60_000, 1000 * 2 ** entry.attempts));
    const result = await unitOfWork.run(entry.tenantId, (repositories) =>
      abandon
        ? repositories.inbox.abandon(entry.id, entry.lease, now, reason)
        : repositories.inbox.release(entry.id, entry.lease, retryAt, reason),
    );
    if (abandon)
      logger.error(
        { ...fields, attempts: entry.attempts, reason },
        `inbox entry abandoned after ${entry.attempts} attempts`,
      );
    else
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
