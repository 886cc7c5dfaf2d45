import {
  type ClaimedInboxEntry,
  type ClaimedSend,
  type Clock,
  defaultTenantConcurrency,
  type EntryOutcome,
  type InboxQueue,
  inboxSenderKey,
  type Logger,
  type Metrics,
  type NewInboxEntry,
  type NumberRoutes,
  type ProcessInbox,
  type SendSlotTerms,
  type StoredInboxEntry,
  type TenantSection,
  type TenantUnitOfWork,
} from '@prestabot/application';
import type { TenantId } from '@prestabot/domain';
import { AtMostEvery } from './at-most-every.ts';
import { type LeaseKeeper, workLeaseMs } from './lease-keeper.ts';
import { PollingLoop } from './polling-loop.ts';

export type InboxWorkerOptions = {
  /** This process's name in leases (host, pid and a random part). */
  readonly owner: string;
  /** Most entries one claim takes. */
  readonly batchSize: number;
  /** Tenants processed at once, each in a unit of work (a database connection) of its own. */
  readonly concurrency: number;
  /** How long a claimed entry is ours unless renewed; a crash hands it to another worker this long after the last renewal. */
  readonly leaseMs: number;
  /** How often an idle worker looks for work it was not handed (crashed peers, retries). */
  readonly idlePollMs: number;
  /** After this many failed attempts an entry is abandoned (kept, with its error, for an operator). */
  readonly maxAttempts: number;
  /** How often queue depth and age are reported, idle or working through a backlog. */
  readonly depthIntervalMs: number;
};

export const defaultInboxWorkerOptions: Omit<InboxWorkerOptions, 'owner'> = {
  batchSize: 500,
  concurrency: defaultTenantConcurrency,
  leaseMs: workLeaseMs,
  idlePollMs: 1000,
  maxAttempts: 8,
  depthIntervalMs: 5000,
};

export type InboxWorkerDependencies = {
  readonly inboxQueue: InboxQueue;
  readonly processInbox: Pick<ProcessInbox, 'execute' | 'processInSections' | 'routesOf'>;
  readonly unitOfWork: TenantUnitOfWork;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * On what terms the replies of the entries processed now get their send slots in the same transaction:
   * the sending process's (`OutboxDispatcher.sendSlotTerms`); none, and they wait for it to take them.
   */
  readonly sendSlotTerms?: () => SendSlotTerms | undefined;
  /** Told which replies were queued, and which of them were leased with their slots, to send them. */
  readonly onRepliesQueued: (outboxIds: readonly string[], leased: readonly ClaimedSend[]) => void;
  /** Renews the leases of the work in hand; without one, leases run their first length (tests). */
  readonly leases?: Pick<LeaseKeeper, 'hold' | 'release'>;
};

/**
 * Most held messages a webhook write answers in its own transaction; a write carrying more (a backlog:
 * webhooks waited for a write) answers none of them. Its sections run one after another while every
 * webhook of the write, statuses included, waits for its 200: under a backlog its messages go to the
 * tenants' units of work instead, twelve at a time, as before writes answered any, so acknowledgements do
 * not wait for a long run of sections. Below saturation a write carries one or two messages.
 */
export const maxMessagesWhileStoring = 4;

/** The messages among what a write stored that it leased to this process. */
const heldMessagesOf = (stored: readonly StoredInboxEntry[]): ClaimedInboxEntry[] =>
  stored.flatMap((result) =>
    result.outcome === 'stored' && 'lease' in result.entry && result.entry.item.kind === 'message'
      ? [result.entry]
      : [],
  );

/**
 * The messages a webhook write is to answer in its own transaction (`StoreAndProcessRequest.answering`),
 * and their tenants, which are that write's until `finishWhileStoring`.
 */
export type AnsweringWhileStoring = {
  readonly tenants: ReadonlySet<TenantId>;
  readonly ids: readonly string[];
};

/** What `processWhileStoring` took and what became of it. */
export type ProcessedWhileStoring = {
  readonly entries: readonly ClaimedInboxEntry[];
  readonly outcomes: readonly EntryOutcome[];
  readonly left: readonly ClaimedInboxEntry[];
};

/** Entries handed in together: `done` once every one of them was processed (or handed back). */
type Submission = { remaining: number; readonly done: () => void };

type Held = { readonly entry: ClaimedInboxEntry; readonly submission: Submission };

/**
 * Processes the inbox entries this process holds: what webhooks just stored here (under the lease taken
 * when they were stored, with no claim), and what a polling claim finds (entries of crashed workers once
 * their lease ran out, retries). Each tenant's entries wait in a queue of their own; up to `concurrency`
 * tenants are processed at once, each taking everything it has waiting in one unit of work, and a tenant
 * that is done starts again as soon as more of its entries arrive: no tenant waits for another's batch,
 * and a tenant's entries are processed in the order they arrived. A failed entry is handed back with a
 * growing delay, and the sender's later entries held here with it, so they are answered in order; nothing
 * is dropped silently.
 */
export class InboxWorker {
  readonly #deps: InboxWorkerDependencies;
  readonly #options: InboxWorkerOptions;
  readonly #loop: PollingLoop;
  readonly #depthReport: AtMostEvery;
  /** Each tenant's entries waiting, in arrival order; tenants in the order they started waiting. */
  readonly #waiting = new Map<TenantId, Held[]>();
  readonly #running = new Set<TenantId>();
  readonly #inFlight = new Set<Promise<void>>();
  #stopping = false;

  constructor(dependencies: InboxWorkerDependencies, options: InboxWorkerOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#depthReport = new AtMostEvery(options.depthIntervalMs);
    this.#loop = new PollingLoop(async () => {
      const handled = await this.#claim();
      await this.#reportDepth();
      return handled;
    }, options.idlePollMs);
  }

  /** Processes entries this process holds; resolves once each was processed or handed back. Never rejects. */
  submit(entries: readonly ClaimedInboxEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    this.#deps.leases?.hold(
      'inbox',
      entries.map((entry) => entry.id),
    );
    return new Promise((done) => {
      const submission: Submission = { remaining: entries.length, done };
      for (const entry of entries) {
        const queue = this.#waiting.get(entry.tenantId) ?? [];
        queue.push({ entry, submission });
        this.#waiting.set(entry.tenantId, queue);
      }
      this.#startTenants();
    });
  }

  /** The routes `processWhileStoring` needs for these entries, read before the write's transaction. */
  routesWhileStoring(entries: readonly NewInboxEntry[]): Promise<NumberRoutes | undefined> {
    return this.#deps.processInbox
      .routesOf(entries.filter((entry) => entry.item.kind === 'message'))
      .unwrapOr(undefined);
  }

  /**
   * The messages of a webhook write to answer in its transaction: those of each tenant with nothing waiting
   * or running here (by the `routes` read before it), unless the write carries a backlog. The tenants are
   * then this write's until `finishWhileStoring`, so a sender's messages are still answered in order.
   */
  reserveWhileStoring(entries: readonly NewInboxEntry[], routes: NumberRoutes): AnsweringWhileStoring {
    const tenants = new Set<TenantId>();
    const ids: string[] = [];
    const messages = entries.filter((entry) => entry.item.kind === 'message');
    if (messages.length > maxMessagesWhileStoring || this.#stopping) return { tenants, ids };
    for (const entry of messages) {
      const tenantId = routes.get(entry.phoneNumberId)?.tenant.id;
      if (tenantId === undefined) continue;
      if (!tenants.has(tenantId)) {
        if (this.#running.has(tenantId) || this.#waiting.has(tenantId)) continue;
        tenants.add(tenantId);
        this.#running.add(tenantId);
      }
      ids.push(entry.id);
    }
    return { tenants, ids };
  }

  /**
   * Answers the messages `answering` names that the write stored and leased here, in that write's
   * transaction (`InboxQueue.storeAndProcess`). Entries stored under another tenant than reserved,
   * statuses and what failed are left for `submit`.
   */
  async processWhileStoring(
    stored: readonly StoredInboxEntry[],
    section: TenantSection,
    routes: NumberRoutes,
    answering: AnsweringWhileStoring,
  ): Promise<ProcessedWhileStoring> {
    const ids = new Set(answering.ids);
    // A tenant given entries here since it was reserved (a claim's, older than the write's) has them
    // answered first: the write's are put back, and come after them.
    const entries = heldMessagesOf(stored).filter(
      (entry) =>
        ids.has(entry.id) && answering.tenants.has(entry.tenantId) && !this.#waiting.has(entry.tenantId),
    );
    if (entries.length === 0) return { entries, outcomes: [], left: [] };
    const { outcomes, left } = await this.#deps.processInbox.processInSections(
      entries,
      section,
      routes,
      this.#deps.sendSlotTerms?.(),
    );
    return { entries, outcomes, left };
  }

  /**
   * After the write's commit (`committed`) or its failure: hands the replies to the sender and what was
   * left to the queue here, then frees the tenants. Nothing of a failed write was stored.
   */
  finishWhileStoring(
    answering: AnsweringWhileStoring,
    processed: ProcessedWhileStoring | undefined,
    committed: boolean,
  ): void {
    try {
      if (committed && processed !== undefined) {
        this.#handOver(processed.outcomes);
        void this.submit(processed.left);
      }
    } finally {
      for (const tenantId of answering.tenants) this.#running.delete(tenantId);
      this.#startTenants();
    }
  }

  start(): void {
    this.#stopping = false;
    this.#loop.start();
  }

  /** Stops claiming, then waits for the entries in hand to finish. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop.stop();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
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

  /** Starts waiting tenants, longest waiting first, while there is room. */
  #startTenants(): void {
    for (const tenantId of this.#waiting.keys()) {
      if (this.#running.size >= this.#options.concurrency) return;
      if (this.#running.has(tenantId)) continue;
      const held = this.#waiting.get(tenantId)!;
      this.#waiting.delete(tenantId);
      this.#running.add(tenantId);
      const run = this.#process(held).finally(() => {
        this.#running.delete(tenantId);
        this.#inFlight.delete(run);
        this.#startTenants();
      });
      this.#inFlight.add(run);
    }
  }

  async #process(held: readonly Held[]): Promise<void> {
    try {
      const outcomes = await this.#deps.processInbox.execute(
        held.map(({ entry }) => entry),
        this.#deps.sendSlotTerms?.(),
      );
      this.#handOver(outcomes);
      await this.#handBack(
        outcomes.filter((outcome) => outcome.type === 'failed' || outcome.type === 'deferred'),
      );
    } catch (bug) {
      this.#deps.logger.error(
        { error: bug instanceof Error ? bug.stack : String(bug) },
        'bug while processing inbox entries; their leases will expire and they will be retried',
      );
    } finally {
      this.#deps.leases?.release(
        'inbox',
        held.map(({ entry }) => entry.id),
      );
      for (const { submission } of held) this.#settle(submission);
    }
  }

  /** Gives the replies of processed entries to the sender; reports entries whose lease was lost. */
  #handOver(outcomes: readonly EntryOutcome[]): void {
    const queued: string[] = [];
    const leased: ClaimedSend[] = [];
    for (const outcome of outcomes) {
      if (outcome.type === 'processed') {
        queued.push(...outcome.enqueued);
        leased.push(...outcome.leased);
      } else if (outcome.type === 'lease_lost')
        this.#deps.logger.warn(
          fieldsOf(outcome.entry),
          'inbox entry taken over by another worker; nothing was done for it here',
        );
    }
    if (queued.length > 0) this.#deps.onRepliesQueued(queued, leased);
  }

  #settle(submission: Submission): void {
    submission.remaining -= 1;
    if (submission.remaining === 0) submission.done();
  }

  /**
   * Hands failed entries back for a later attempt (abandoned after the last), and with them, due at once
   * but behind them, the later entries of their senders that wait here: the claim then hands each sender's
   * entries out in order.
   */
  async #handBack(outcomes: readonly EntryOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const senders = new Set(outcomes.flatMap(({ entry }) => inboxSenderKey(entry.tenantId, entry) ?? []));
    const behind: EntryOutcome[] = [];
    for (const [tenantId, queue] of this.#waiting) {
      const kept = queue.filter(({ entry, submission }) => {
        const sender = inboxSenderKey(entry.tenantId, entry);
        if (sender === undefined || !senders.has(sender)) return true;
        behind.push({ entry, type: 'deferred', reason: 'an earlier message of the sender is being retried' });
        this.#settle(submission);
        return false;
      });
      if (kept.length === 0) this.#waiting.delete(tenantId);
      else this.#waiting.set(tenantId, kept);
    }
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
    this.#deps.leases?.release('inbox', [entry.id]);
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
    if (!this.#depthReport.due(now)) return;
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
