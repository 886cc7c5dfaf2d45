import { defined, errAsync, okAsync, ResultAsync } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { ClaimedReminder, ReminderQueue } from '../../loans/loan-stores.port.ts';
import type { FinishedWorkRetention, PrunedRows } from '../../ports/finished-work-retention.port.ts';
import { type InboxQueue, type QueueDepth, unansweredOf } from '../../ports/inbox.port.ts';
import type { LeaseRenewal } from '../../ports/lease-renewal.port.ts';
import type { OutboxQueue } from '../../ports/outbox.port.ts';
import { applyStatuses, claimInbox, inboxKeyOf, reopenInbox, storeInbox } from './inbox-queue.ts';
import { renewLeases } from './lease-renewal.ts';
import { claimOutbox, leaseSends, recordSends } from './outbox-queue.ts';
import { leaseActive, outboxKeyOf, pendingOutboxRows, type State, type StateAccess } from './state.ts';
import { inMemoryUnitOfWork } from './unit-of-work.ts';

// The queues across tenants, as the adapter's `queues.ts`; the inbox's, the outbox's and the leases' own
// rules are in `inbox-queue.ts`, `outbox-queue.ts` and `lease-renewal.ts`.

const depthOf = (rows: readonly { readonly availableAt: Date }[], now: Date): QueueDepth => {
  const due = rows.filter((row) => row.availableAt <= now);
  const oldest = due.reduce<Date | undefined>(
    (min, row) => (min === undefined || row.availableAt < min ? row.availableAt : min),
    undefined,
  );
  return { pending: due.length, ...defined({ oldestAt: oldest }) };
};

const claimReminders = (
  state: State,
  request: { readonly owner: string; readonly now: Date; readonly limit: number; readonly leaseMs: number },
): ClaimedReminder[] =>
  [...state.reminders.values()]
    .filter(
      (row) =>
        row.reminder.status === 'pending' &&
        row.reminder.scheduledAt <= request.now &&
        !leaseActive(row, request.now),
    )
    .sort((a, b) => a.reminder.scheduledAt.getTime() - b.reminder.scheduledAt.getTime())
    .slice(0, request.limit)
    .map((row) => {
      row.lease = { owner: request.owner, until: new Date(request.now.getTime() + request.leaseMs) };
      row.attempts = (row.attempts ?? 0) + 1;
      return { ...row.reminder, tenantId: row.tenantId, lease: row.lease, attempts: row.attempts };
    });

/** The `limit` rows that finished earliest, all before `before`; unfinished rows have no finishing time. */
const earliestFinished = <Row>(
  rows: Iterable<Row>,
  finishedAt: (row: Row) => Date | undefined,
  before: Date,
  limit: number,
): Row[] =>
  [...rows]
    .flatMap((row) => {
      const at = finishedAt(row);
      return at !== undefined && at < before ? [{ row, at }] : [];
    })
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .slice(0, limit)
    .map(({ row }) => row);

/** As `prestabot.prune_finished` does: a pruned message's idempotency key is free again, its reminder stays. */
const pruneFinished = (state: State, before: Date, limit: number): PrunedRows => {
  const inbox = earliestFinished(state.inbox.peekValues(), (row) => row.processedAt, before, limit);
  for (const row of inbox) {
    state.inbox.delete(row.entry.id);
    state.inboxKeys.delete(inboxKeyOf(row.entry));
  }
  const outbox = earliestFinished(state.outbox.peekValues(), (row) => row.finishedAt, before, limit);
  for (const row of outbox) {
    state.outbox.delete(row.entry.id);
    if (row.entry.idempotencyKey !== undefined) {
      state.outboxKeys.delete(outboxKeyOf(row.tenantId, row.entry.idempotencyKey));
    }
  }
  const prunedIds = new Set(outbox.map((row) => row.entry.id));
  const unlinked = [...state.reminders.peekValues()].filter(
    (row) => row.reminder.outboxId !== undefined && prunedIds.has(row.reminder.outboxId),
  );
  for (const { reminder } of unlinked) {
    const row = state.reminders.get(reminder.id)!;
    const { outboxId: _pruned, ...kept } = row.reminder;
    row.reminder = kept;
  }
  return { inbox: inbox.length, outbox: outbox.length };
};

/**
 * In memory the entries are stored and the sends recorded first, and each section is a unit of work of its
 * own: the fake has no commit that can fail after `process` ran, so the one transaction would show nothing
 * more. What was written done and not answered is put back as PostgreSQL's write does (every one, or the
 * call fails), and all of it should `process` throw, where PostgreSQL would undo the store.
 */
export const inMemoryInboxQueue = (access: StateAccess): InboxQueue => ({
  store: (request) => access.transaction((state) => okAsync(storeInbox(state, request))),
  storeAndProcess: (request, process, records = []) =>
    access
      .transaction((state) =>
        okAsync({ stored: storeInbox(state, request), recorded: recordSends(state, records) }),
      )
      .andThen(({ stored, recorded }) => {
        const putBack = (answered: readonly string[]) => {
          const unanswered = unansweredOf(stored, request.answering, answered);
          return access.transaction((state) =>
            reopenInbox(state, unanswered) === unanswered.length
              ? okAsync(undefined)
              : errAsync(storageError('unexpected', 'inbox entries written done could not be put back')),
          );
        };
        const processing = process(stored, inMemoryUnitOfWork(access).run).catch(async (bug: unknown) => {
          await putBack([]);
          throw bug;
        });
        return ResultAsync.fromSafePromise(processing).andThen(({ result, answered }) =>
          putBack(answered).map(() => ({ stored, processed: result, recorded })),
        );
      }),
  claim: (request) => access.transaction((state) => okAsync(claimInbox(state, request))),
  applyStatuses: (request) => access.transaction((state) => okAsync(applyStatuses(state, request))),
  depth: (now) =>
    access.read((state) =>
      depthOf(
        [...state.inbox.peekValues()].filter((row) => row.processedAt === undefined),
        now,
      ),
    ),
});

export const inMemoryOutboxQueue = (access: StateAccess): OutboxQueue => ({
  claim: (request) => access.transaction((state) => okAsync(claimOutbox(state, request))),
  lease: (request) => access.transaction((state) => okAsync(leaseSends(state, request))),
  record: (records) => access.transaction((state) => okAsync(recordSends(state, records))),
  depth: (now) =>
    access.read((state) => {
      const pending = pendingOutboxRows(state);
      const held = pending.filter((row) => row.limitHeldAt !== undefined && row.availableAt > now).length;
      return { ...depthOf(pending, now), held };
    }),
});

export const inMemoryReminderQueue = (access: StateAccess): ReminderQueue => ({
  claimDue: (request) => access.transaction((state) => okAsync(claimReminders(state, request))),
});

export const inMemoryLeaseRenewal = (access: StateAccess): LeaseRenewal => ({
  renew: (request) => access.transaction((state) => okAsync(renewLeases(state, request))),
});

export const inMemoryFinishedWorkRetention = (access: StateAccess): FinishedWorkRetention => ({
  pruneFinished: (before, limit) =>
    access.transaction((state) => okAsync(pruneFinished(state, before, limit))),
});
