import type {
  ClaimedInboxEntry,
  Clock,
  InboxIntake,
  InboxQueue,
  Logger,
  NewInboxEntry,
  NumberRoutes,
  OutboxQueue,
  SendRecord,
  SendRecorder,
  StatusFollowUps,
  StorageError,
  StoredInboxEntry,
  StoreInboxRequest,
} from '@prestabot/application';
import { defined, errAsync, type Result, ResultAsync } from '@prestabot/domain';
import { GroupCommit, type TakenRequests } from './group-commit.ts';
import type { InboxWorker, ProcessedWhileStoring } from './inbox-worker.ts';
import { systemTimers, type Timers } from './wake-up.ts';

/**
 * How many writes of each kind may be under way at once, and how many requests one may carry. Webhooks
 * wait for their write before their 200, so they get more room: with two, 64 webhooks in flight waited
 * 31 ms at p99 at 1,000/s; with four, 26 ms.
 */
const webhookWritesInFlight = 4;
const outcomeWritesInFlight = 2;
const maxBatch = 512;

/**
 * How long a webhook of statuses only waits for others to share its statement and commit. No one waits on
 * its 200 but Meta, which asks for a median under 250 ms; three of every message's four webhooks are
 * statuses, and with no wait nearly each went in a transaction of its own below saturation. Measured at
 * 100 messages/s: 10 ms left about 0.6 status transactions a message, 30 ms about 0.25 (3.3–3.4 → 2.9–3.0
 * transactions a message in all), with replies and acknowledgements of messages unchanged.
 */
export const statusLingerMs = 30;

/**
 * Storing webhook items behind a group commit: the webhooks that arrive together are stored in one
 * statement, for any tenants (statuses that need nothing more are applied instead). A webhook of statuses
 * only waits up to `statusLingerMs` for others; any other goes at once, as a message's reply waits for
 * it, and takes the statuses waiting then into its commit, so below saturation they seldom need one of
 * their own. With `lease`, new entries are held by this process: with a `processor` too, their messages are
 * answered in the write's own transaction where their tenant allows (`InboxWorker.processWhileStoring`),
 * and the rest right after the response; without a lease, they wait for a worker's claim. Such a write
 * also records the outcomes of sends waiting for their own group commit (`records`): they cost it one
 * more statement in the round trip of its store, and no commit of their own.
 */
export const groupCommittedIntake = (
  deps: {
    readonly inboxQueue: Pick<InboxQueue, 'store' | 'storeAndProcess'>;
    readonly clock: Clock;
    readonly followUps: StatusFollowUps;
    readonly timers?: Timers;
    /**
     * Who answers held messages in the write's own transaction (the inbox worker, once it exists); none:
     * they are answered after the response, in a transaction of their own.
     */
    readonly processor?: () => StoringProcessor | undefined;
    /** The outcomes of sends waiting for their group commit, recorded by such a write instead. */
    readonly records?: RidingRecords;
    readonly logger?: Logger;
  },
  lease: { readonly owner: string; readonly leaseMs: number } | undefined,
): InboxIntake => {
  const store = (request: StoreInboxRequest) => {
    const processor = lease === undefined ? undefined : deps.processor?.();
    if (processor === undefined || !request.entries.some((entry) => entry.item.kind === 'message'))
      return deps.inboxQueue.store(request);
    return new ResultAsync(
      processor
        .routesWhileStoring(request.entries)
        .then((routes) =>
          routes === undefined ? deps.inboxQueue.store(request) : storeAndProcess(request, processor, routes),
        ),
    );
  };
  const storeAndProcess = (request: StoreInboxRequest, processor: StoringProcessor, routes: NumberRoutes) => {
    const answering = processor.reserveWhileStoring(request.entries, routes);
    let taken: ProcessedWhileStoring | undefined;
    const riding = deps.records?.take(maxBatch);
    const written = Promise.resolve().then(() =>
      deps.inboxQueue.storeAndProcess(
        { ...request, answering: answering.ids },
        async (stored, section) => {
          taken = await processor.processWhileStoring(stored, section, routes, answering);
          const answered = taken.outcomes.filter((outcome) => outcome.type === 'processed');
          return { result: taken, answered: answered.map(({ entry }) => entry.id) };
        },
        riding?.requests,
      ),
    );
    return new ResultAsync(
      written.then(
        (result) => {
          try {
            // The outcomes first: they must be settled or given back even should handing over the replies throw.
            if (riding !== undefined) settleRiding(riding, result);
          } finally {
            processor.finishWhileStoring(answering, taken, result.isOk());
          }
          // Answered or handed over already: returned without their lease, so nothing processes them again.
          return result.map(({ stored, processed }) => withoutLeaseOf(stored, processed.entries));
        },
        (bug: unknown) => {
          riding?.giveBack();
          processor.finishWhileStoring(answering, taken, false);
          throw bug;
        },
      ),
    );
  };
  // A write that failed is reported by the webhooks that waited on it; a recording undone within one that
  // committed is unexpected (a deadlock, a bug), and said so.
  const settleRiding = (
    riding: TakenRequests<SendRecord, boolean>,
    written: Result<{ readonly recorded?: readonly boolean[] }, StorageError>,
  ) => {
    if (written.isOk() && written.value.recorded !== undefined) return riding.settle(written.value.recorded);
    if (written.isOk())
      deps.logger?.warn(
        { sends: riding.requests.length },
        "what became of sends could not be recorded in a webhook's write; they are recorded on their own",
      );
    riding.giveBack();
  };
  const write = (webhooks: readonly (readonly NewInboxEntry[])[]) =>
    store({
      entries: webhooks.flat(),
      now: deps.clock.now(),
      followUps: deps.followUps,
      ...defined({ lease }),
    }).map((stored) => {
      let next = 0;
      return webhooks.map((entries) => {
        const own = stored.slice(next, next + entries.length);
        next += entries.length;
        return own;
      });
    });
  const webhooks = new GroupCommit<readonly NewInboxEntry[], readonly StoredInboxEntry[]>(
    write,
    { maxBatch, maxInFlight: webhookWritesInFlight, lingerMs: statusLingerMs, keysOf: messagesStatused },
    deps.timers ?? systemTimers,
  );
  return {
    store: (entries) =>
      webhooks.submit(
        entries,
        entries.length > 0 && entries.every((entry) => entry.item.kind === 'status') ? 'linger' : 'now',
      ),
  };
};

/**
 * The messages a webhook's statuses are about. Two writes applying statuses of one message (its `sent` and
 * `delivered`, each priced) would wait in the database for each other: measured over ten minutes at 125
 * messages/s, such waits chained writes into stalls of a second and more whenever writes took longer than
 * the statuses' spacing.
 */
const messagesStatused = (entries: readonly NewInboxEntry[]): readonly string[] =>
  entries.flatMap((entry) =>
    entry.item.kind === 'status' ? [`${entry.phoneNumberId} ${entry.item.wamid}`] : [],
  );

/** Answers held messages in the transaction that stores them: `InboxWorker`'s part of it. */
export type StoringProcessor = Pick<
  InboxWorker,
  'routesWhileStoring' | 'reserveWhileStoring' | 'processWhileStoring' | 'finishWhileStoring'
>;

const withoutLeaseOf = (
  stored: readonly StoredInboxEntry[],
  entries: readonly ClaimedInboxEntry[],
): readonly StoredInboxEntry[] => {
  if (entries.length === 0) return stored;
  const taken = new Set(entries.map(({ id }) => id));
  return stored.map((result) => {
    if (result.outcome !== 'stored' || !taken.has(result.entry.id) || !('lease' in result.entry))
      return result;
    const { lease: _handled, ...entry } = result.entry;
    return { outcome: 'stored', entry };
  });
};

/**
 * How long an outcome waits for others to share its statement and commit. The webhook's 200 and the reply's
 * acceptance come before it; only the next message to the same person waits on it (one message a person is
 * in flight), and 20 ms is little beside the time Graph takes to accept a send. At 125 messages/s a statement
 * then records about three sends instead of one; with a message webhook's write coming every 10 ms or so,
 * most are taken by one (`RidingRecords`) and need no statement of their own.
 */
export const outcomeLingerMs = 20;

/** Waits before each new try of a failed write: the database restarting takes about a second. */
export const recordRetryDelaysMs: readonly number[] = [50, 100, 250, 500, 1000, 2000, 4000];

/** Outcomes waiting for their group commit, which a webhook's write may take and record in its own. */
export type RidingRecords = {
  take(max: number): TakenRequests<SendRecord, boolean> | undefined;
};

/**
 * Recording what became of sends behind a group commit: the outcomes of `outcomeLingerMs` in one statement.
 * A failed write is tried again a few times over about eight seconds, well inside a send's lease: above
 * all, a send Graph accepted must be recorded as sent, not sent again. Outcomes still waiting may be taken
 * by a webhook's write (`take`), which commits anyway: they then cost no commit of their own, and a
 * sender's next message waits less for them.
 */
export const groupCommittedRecorder = (deps: {
  readonly outboxQueue: Pick<OutboxQueue, 'record'>;
  readonly logger: Logger;
  readonly timers?: Timers;
}): SendRecorder & RidingRecords => {
  const timers = deps.timers ?? systemTimers;
  const pause = (ms: number) => new Promise<void>((resolve) => timers.setTimeout(resolve, ms));
  const attempt = (
    records: readonly SendRecord[],
    retry: number,
  ): ResultAsync<readonly boolean[], StorageError> =>
    deps.outboxQueue.record(records).orElse((error) => {
      const delayMs = recordRetryDelaysMs[retry];
      if (delayMs === undefined) return errAsync(error);
      deps.logger.warn(
        { sends: records.length, error: error.reason, retryInMs: delayMs },
        `cannot record what became of ${records.length} sends yet (${error.message}); trying again`,
      );
      return new ResultAsync(pause(delayMs).then(() => attempt(records, retry + 1)));
    });
  const commit = new GroupCommit<SendRecord, boolean>(
    (records) => attempt(records, 0),
    {
      maxBatch,
      maxInFlight: outcomeWritesInFlight,
      lingerMs: outcomeLingerMs,
    },
    timers,
  );
  return { record: (record) => commit.submit(record), take: (max) => commit.take(max) };
};
