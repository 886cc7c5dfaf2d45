import {
  type PhoneNumberId,
  type ResultAsync,
  type TenantId,
  timeOrderedUuid,
  timeOrderedUuidRandomBytes,
  type Wamid,
} from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageError } from '../../errors.ts';
import type { Lease, NewInboxEntry } from '../../ports/inbox.port.ts';
import type { NewOutboxEntry, SendRecord } from '../../ports/outbox.port.ts';
import type { TenantRepositories } from '../../ports/unit-of-work.port.ts';
import { seedLoan } from './loan-stores.contract.ts';
import {
  expectOk,
  fixturePhone,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from './storage-harness.ts';

const hour = 3_600_000;
const day = 24 * hour;

// Pruning crosses tenants, and storage contracts may share one database: each test works years before
// any other suite's rows, and before the rows the tests ahead of it leave, so its cutoff reaches only its own.
const eraOf = (year: number) => new Date(Date.UTC(year, 0, 1));
const later = (start: Date, ms: number) => new Date(start.getTime() + ms);

/** A UUIDv7 made at `at`, as the runtime's ids are: storage may find rows by the time their id carries. */
const idMadeAt = (at: Date): string =>
  timeOrderedUuid(at.getTime(), crypto.getRandomValues(new Uint8Array(timeOrderedUuidRandomBytes)));

/** A message from a sender of its own: entries of one sender could only be claimed one at a time. */
const inboxEntry = (phoneNumberId: PhoneNumberId, receivedAt: Date): NewInboxEntry =>
  textInboxEntry(phoneNumberId, { waId: fixturePhone().slice(1), sentAt: receivedAt });

export const describeFinishedWorkRetentionContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: FinishedWorkRetention`, () => {
    let harness: StorageHarness;
    /** The lease of every entry and message the test claimed, by id. */
    const leases = new Map<string, Lease>();
    beforeEach(async () => {
      harness = await factory();
      leases.clear();
    });
    afterEach(async () => {
      await harness.close();
    });

    const leaseOf = (id: string): Lease => {
      const lease = leases.get(id);
      if (lease === undefined) throw new Error(`${id} was not claimed`);
      return lease;
    };

    const recordAndClaim = async (entries: readonly NewInboxEntry[], now: Date) => {
      await storeInInbox(harness.inboxQueue, entries);
      const claimed = await expectOk(
        harness.inboxQueue.claim({
          owner: 'retention-test',
          limit: entries.length,
          leaseMs: 60_000,
          now,
          ids: entries.map((entry) => entry.id),
        }),
      );
      expect(claimed).toHaveLength(entries.length);
      for (const entry of claimed) leases.set(entry.id, entry.lease);
    };

    const enqueueAndClaim = async (tenantId: TenantId, messages: readonly NewOutboxEntry[], now: Date) => {
      await expectOk(harness.unitOfWork.run(tenantId, (r) => r.outbox.enqueue(messages)));
      const ids = new Set(messages.map((message) => message.id));
      const claimed = await expectOk(
        harness.outboxQueue.claim({
          owner: 'retention-test',
          limit: 100,
          leaseMs: 60_000,
          now,
          horizonMs: 1000,
        }),
      );
      const mine = claimed.filter((send) => ids.has(send.id));
      expect(mine).toHaveLength(messages.length);
      for (const send of mine) leases.set(send.id, send.lease);
    };

    /** Finishes an entry or a message under its lease, which must still hold it. */
    const finish = (
      tenantId: TenantId,
      work: (r: TenantRepositories) => ResultAsync<boolean, StorageError>,
    ) => expectOk(harness.unitOfWork.run(tenantId, work)).then((held) => expect(held).toBe(true));
    const complete = (tenantId: TenantId, id: string, at: Date) =>
      finish(tenantId, (r) => r.inbox.complete([{ id, lease: leaseOf(id) }], at));
    /** Records a send's outcome under its lease, which must still hold it. */
    const recordSend = (outcome: SendRecord) =>
      expectOk(harness.outboxQueue.record([outcome])).then(([held]) => expect(held).toBe(true));
    const markSent = (id: string, at: Date) =>
      recordSend({ kind: 'sent', id, lease: leaseOf(id), wamid: `wamid.${id}` as Wamid, at });

    const prune = (before: Date, limit: number) =>
      expectOk(harness.finishedWorkRetention.pruneFinished(before, limit));

    const outboxStatus = (tenantId: TenantId, id: string) =>
      expectOk(harness.unitOfWork.run(tenantId, (r) => r.outbox.get(id))).then((message) => message?.status);

    /** Records the entries again: those recorded had been pruned; the others are still stored. */
    const recordAgain = (entries: readonly NewInboxEntry[]) =>
      storeInInbox(harness.inboxQueue, entries).then((stored) =>
        entries.filter((_, index) => stored[index]?.outcome === 'stored').map((entry) => entry.id),
      );

    it('prunes, in every tenant, what finished before the cutoff, and nothing unfinished or recent', async () => {
      const era = eraOf(2020);
      const old = later(era, day);
      const recent = later(era, 20 * day);
      /** A tenant's queue rows in every state: finished long ago, finished lately, unfinished. */
      const seedQueues = async () => {
        const { tenant, number } = await seedTenant(harness);
        const inbox = {
          completedOld: inboxEntry(number.phoneNumberId, era),
          abandonedOld: inboxEntry(number.phoneNumberId, era),
          completedRecent: inboxEntry(number.phoneNumberId, era),
          leased: inboxEntry(number.phoneNumberId, era),
          unprocessed: inboxEntry(number.phoneNumberId, era),
        };
        await recordAndClaim(
          [inbox.completedOld, inbox.abandonedOld, inbox.completedRecent, inbox.leased],
          era,
        );
        await storeInInbox(harness.inboxQueue, [inbox.unprocessed]);
        await complete(tenant.id, inbox.completedOld.id, old);
        await complete(tenant.id, inbox.completedRecent.id, recent);
        const { id: abandonedId } = inbox.abandonedOld;
        await finish(tenant.id, (r) =>
          r.inbox.abandon(abandonedId, leaseOf(abandonedId), old, 'kept failing'),
        );

        const outbox = {
          sentOld: textOutboxEntry(number.phoneNumberId, { at: era }),
          failedOld: textOutboxEntry(number.phoneNumberId, { at: era }),
          sentRecent: textOutboxEntry(number.phoneNumberId, { at: era }),
          leased: textOutboxEntry(number.phoneNumberId, { at: era }),
          // Not due at `era`, so no claim of the test takes it.
          pending: textOutboxEntry(number.phoneNumberId, { at: recent }),
        };
        await enqueueAndClaim(
          tenant.id,
          [outbox.sentOld, outbox.failedOld, outbox.sentRecent, outbox.leased],
          era,
        );
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([outbox.pending])));
        await markSent(outbox.sentOld.id, old);
        await markSent(outbox.sentRecent.id, recent);
        const { id: failedId } = outbox.failedOld;
        const failure = { reason: 'rejected', code: 131026, title: 'Message undeliverable' };
        await recordSend({ kind: 'failed', id: failedId, lease: leaseOf(failedId), failure, at: old });
        return { tenant, inbox, outbox };
      };
      // One after the other: a claim crosses tenants, and would take the other tenant's messages too.
      const seeded = [await seedQueues(), await seedQueues()];

      const cutoff = later(era, 10 * day);
      expect(await prune(cutoff, 100)).toEqual({ inbox: 4, outbox: 4 });
      expect(await prune(cutoff, 100)).toEqual({ inbox: 0, outbox: 0 });
      for (const { tenant, inbox, outbox } of seeded) {
        expect(await recordAgain(Object.values(inbox))).toEqual([
          inbox.completedOld.id,
          inbox.abandonedOld.id,
        ]);
        expect(await outboxStatus(tenant.id, outbox.sentOld.id)).toBeUndefined();
        expect(await outboxStatus(tenant.id, outbox.failedOld.id)).toBeUndefined();
        expect(await outboxStatus(tenant.id, outbox.sentRecent.id)).toBe('sent');
        expect(await outboxStatus(tenant.id, outbox.leased.id)).toBe('pending');
        expect(await outboxStatus(tenant.id, outbox.pending.id)).toBe('pending');
      }
    });

    it('prunes at most `limit` rows of each queue per call, the earliest finished first', async () => {
      const era = eraOf(2019);
      const { tenant, number } = await seedTenant(harness);
      const entries = [0, 1, 2].map(() => inboxEntry(number.phoneNumberId, era));
      const messages = [0, 1, 2].map(() => textOutboxEntry(number.phoneNumberId, { at: era }));
      await recordAndClaim(entries, era);
      await enqueueAndClaim(tenant.id, messages, era);
      // Finished newest first, so the order they finished in is not the order they were stored in.
      for (const [index, entry] of entries.entries())
        await complete(tenant.id, entry.id, later(era, (3 - index) * hour));
      for (const [index, message] of messages.entries())
        await markSent(message.id, later(era, (3 - index) * hour));

      const cutoff = later(era, 10 * day);
      expect(await prune(cutoff, 2)).toEqual({ inbox: 2, outbox: 2 });
      expect(await recordAgain(entries)).toEqual([entries[1]!.id, entries[2]!.id]);
      expect(await Promise.all(messages.map((message) => outboxStatus(tenant.id, message.id)))).toEqual([
        'sent',
        undefined,
        undefined,
      ]);
      // The entries recorded again are unprocessed: the last finished row of each queue is all that is left.
      expect(await prune(cutoff, 2)).toEqual({ inbox: 1, outbox: 1 });
      expect(await prune(cutoff, 2)).toEqual({ inbox: 0, outbox: 0 });
    });

    it('keeps a reminder whose message was pruned, with what it learned, without the message id', async () => {
      const era = eraOf(2018);
      const { tenant, agreement } = await seedLoan(harness, { status: 'active' });
      const reminder = {
        id: fixtureUuid(),
        agreementId: agreement.id,
        kind: 'due_day' as const,
        localDate: { year: 2018, month: 1, day: 1 },
        scheduledAt: era,
        recipientId: agreement.borrowerId,
      };
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, [reminder])),
      );
      const claimed = await expectOk(
        harness.reminderQueue.claimDue({ owner: 'retention-test', now: era, limit: 100, leaseMs: 60_000 }),
      );
      const { lease } = claimed.find((due) => due.id === reminder.id)!;
      const message = textOutboxEntry(agreement.phoneNumberId, { contactId: agreement.borrowerId, at: era });
      await enqueueAndClaim(tenant.id, [message], era);
      await finish(tenant.id, (r) => r.reminders.markQueued(reminder.id, lease, message.id));
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.reminders.recordDelivery(reminder.id, 'delivered')),
      );
      await markSent(message.id, later(era, day));

      expect(await prune(later(era, 10 * day), 100)).toEqual({ inbox: 0, outbox: 1 });
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.reminders.listFor(agreement.id))),
      ).toEqual([{ ...reminder, status: 'queued', delivery: 'delivered' }]);
    });

    it('prunes rows with time-ordered ids by when they finished too, within the limit across both kinds of id', async () => {
      const era = eraOf(2017);
      const cutoff = later(era, 10 * day);
      const { tenant, number } = await seedTenant(harness);
      /** Made at `madeAt`, finished at `finishedAt`: an inbox entry and an outbox message of each. */
      const rows = {
        madeAndFinishedBefore: { madeAt: era, finishedAt: later(era, day) },
        madeBeforeFinishedAfter: { madeAt: era, finishedAt: later(era, 20 * day) },
        madeAndFinishedAfter: { madeAt: later(era, 15 * day), finishedAt: later(era, 16 * day) },
        randomIdFinishedBefore: { madeAt: era, finishedAt: later(era, 2 * day) },
      };
      const seeded = Object.entries(rows).map(([name, { madeAt, finishedAt }]) => {
        const random = name.startsWith('random');
        const entry = inboxEntry(number.phoneNumberId, madeAt);
        const message = textOutboxEntry(number.phoneNumberId, { at: madeAt });
        return {
          name,
          finishedAt,
          entry: random ? entry : { ...entry, id: idMadeAt(madeAt) },
          message: random ? message : { ...message, id: idMadeAt(madeAt) },
        };
      });
      const unfinished = { ...inboxEntry(number.phoneNumberId, era), id: idMadeAt(era) };
      const pending = { ...textOutboxEntry(number.phoneNumberId, { at: cutoff }), id: idMadeAt(era) };
      await recordAndClaim(
        seeded.map((row) => row.entry),
        rows.madeAndFinishedAfter.madeAt,
      );
      await storeInInbox(harness.inboxQueue, [unfinished]);
      // Claimed in the order they fall due: a claim paces the number from where the one before left it.
      const byMadeAt = [...seeded].sort(
        (a, b) => a.message.createdAt.getTime() - b.message.createdAt.getTime(),
      );
      for (const row of byMadeAt) await enqueueAndClaim(tenant.id, [row.message], row.message.createdAt);
      for (const row of seeded) {
        await complete(tenant.id, row.entry.id, row.finishedAt);
        await markSent(row.message.id, row.finishedAt);
      }
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([pending])));

      expect(await prune(cutoff, 1)).toEqual({ inbox: 1, outbox: 1 });
      expect(await prune(cutoff, 5)).toEqual({ inbox: 1, outbox: 1 });
      expect(await prune(cutoff, 5)).toEqual({ inbox: 0, outbox: 0 });
      const kept = seeded.filter((row) => row.finishedAt > cutoff);
      expect(kept.map((row) => row.name)).toEqual(['madeBeforeFinishedAfter', 'madeAndFinishedAfter']);
      expect(await recordAgain([...seeded.map((row) => row.entry), unfinished])).toEqual(
        seeded.filter((row) => !kept.includes(row)).map((row) => row.entry.id),
      );
      for (const row of seeded)
        expect(await outboxStatus(tenant.id, row.message.id)).toBe(kept.includes(row) ? 'sent' : undefined);
      expect(await outboxStatus(tenant.id, pending.id)).toBe('pending');
    });
  });
};
