import {
  defined,
  errAsync,
  type InboundStatus,
  okAsync,
  type PhoneNumberId,
  type Wamid,
} from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewInboxEntry, StoreAndProcessRequest, StoredInboxEntry } from '../../ports/inbox.port.ts';
import {
  expectErr,
  expectOk,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

/** A `storeAndProcess` request that leases what it stores to `h`, as a webhook write does. */
const storingForH = (
  entries: readonly NewInboxEntry[],
  now: Date,
  answering?: readonly string[],
): StoreAndProcessRequest => ({
  entries,
  now,
  followUps: { origins: [], statuses: [] },
  lease: { owner: 'h', leaseMs: 30_000 },
  ...defined({ answering }),
});

const statusEntry = (entry: NewInboxEntry, status: InboundStatus['status']): NewInboxEntry => {
  const item: InboundStatus = {
    kind: 'status',
    phoneNumberId: entry.phoneNumberId,
    wabaId: entry.item.wabaId,
    wamid: entry.item.wamid as Wamid,
    status,
    at: t0,
    recipient: { waId: '56911112222' },
    errors: [],
  };
  return {
    id: fixtureUuid(),
    phoneNumberId: entry.phoneNumberId,
    deliveryKey: `${item.wamid}#${status}`,
    item,
    receivedAt: t0,
  };
};

export const describeInboxContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: InboxStore and InboxQueue`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const claim = (owner: string, now: Date, options: { ids?: readonly string[]; limit?: number } = {}) =>
      expectOk(
        harness.inboxQueue.claim({
          owner,
          now,
          limit: options.limit ?? 100,
          leaseMs: 30_000,
          ...defined({ ids: options.ids }),
        }),
      );

    it("stores each (number, wamid) once, however often Meta delivers it, under its number's tenant", async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      const [first] = await storeInInbox(harness.inboxQueue, [entry]);
      expect(first).toEqual({ outcome: 'stored', entry: { ...entry, tenantId: tenant.id, attempts: 0 } });
      const again = await storeInInbox(harness.inboxQueue, [
        { ...entry, id: fixtureUuid() },
        statusEntry(entry, 'read'),
        { ...entry, id: fixtureUuid(), phoneNumberId: '1999000000001' as PhoneNumberId },
      ]);
      expect(again.map((stored) => stored.outcome)).toEqual(['duplicate', 'stored', 'unrouted']);
    });

    it('stores one delivery carrying the same item twice once', async () => {
      const { number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      const stored = await storeInInbox(harness.inboxQueue, [entry, { ...entry, id: fixtureUuid() }]);
      expect(stored.map((result) => result.outcome)).toEqual(['stored', 'duplicate']);
    });

    it('stores entries of many tenants at once, each under its own, leased to the owner who stored them', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const entries = [
        textInboxEntry(a.number.phoneNumberId, { waId: '56900000011' }),
        textInboxEntry(b.number.phoneNumberId, { waId: '56900000012' }),
        textInboxEntry(a.number.phoneNumberId, { waId: '56900000013' }),
      ];
      const stored = await storeInInbox(harness.inboxQueue, entries, {
        lease: { owner: 'host-1', leaseMs: 30_000 },
        now: at(0),
      });
      expect(
        stored.map((result) => (result.outcome === 'stored' ? result.entry.tenantId : undefined)),
      ).toEqual([a.tenant.id, b.tenant.id, a.tenant.id]);
      for (const result of stored)
        expect(result).toMatchObject({ entry: { attempts: 1, lease: { owner: 'host-1', until: at(30) } } });
      // Held: no claim hands them out while the lease lasts.
      expect(await claim('worker', at(1), { ids: entries.map((entry) => entry.id) })).toEqual([]);
      const lost = await claim('worker', at(31), { ids: entries.map((entry) => entry.id) });
      expect(lost.map((entry) => entry.attempts)).toEqual([2, 2, 2]);
    });

    it('stores entries and works on them as their tenants, undoing only a section that fails', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const entries = [
        textInboxEntry(a.number.phoneNumberId, { waId: '56900000031' }),
        textInboxEntry(b.number.phoneNumberId, { waId: '56900000032' }),
      ];
      const held = (result: StoredInboxEntry | undefined) =>
        result?.outcome === 'stored' && 'lease' in result.entry ? result.entry : undefined;
      const { stored, processed } = await expectOk(
        harness.inboxQueue.storeAndProcess(storingForH(entries, at(0)), async (results, section) => {
          const [ofA, ofB] = results.map(held);
          if (ofA === undefined || ofB === undefined) return { result: ['not held'], answered: [] };
          const done = (entry: NonNullable<typeof ofA>) => ({ id: entry.id, lease: entry.lease });
          // Each section sees its own tenant only: a's cannot complete b's entry.
          const first = await section(a.tenant.id, (r) =>
            r.inbox
              .complete([done(ofB)], at(1))
              .andThen((other) => r.inbox.complete([done(ofA)], at(1)).map((own) => ({ other, own }))),
          );
          // b's completes its entry, then fails: its completion is undone.
          const second = await section(b.tenant.id, (r) =>
            r.inbox.complete([done(ofB)], at(1)).andThen(() => errAsync('refused' as const)),
          );
          return {
            result: [first.isOk() ? first.value : first.error, second.isErr() ? second.error : 'kept'],
            answered: [],
          };
        }),
      );
      expect(stored.map((result) => result.outcome)).toEqual(['stored', 'stored']);
      expect(processed).toEqual([{ other: false, own: true }, 'refused']);
      // a's entry was completed with the store; b's is still pending, claimed once its lease runs out.
      const claimed = await claim('worker', at(31), { ids: entries.map((entry) => entry.id) });
      expect(claimed.map((entry) => entry.id)).toEqual([entries[1]!.id]);
    });

    it('writes the entries it is to answer done when stored, and puts back those it did not answer', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const answered = textInboxEntry(a.number.phoneNumberId, { waId: '56900000035' });
      const unanswered = textInboxEntry(b.number.phoneNumberId, { waId: '56900000036' });
      const notNamed = textInboxEntry(a.number.phoneNumberId, { waId: '56900000037' });
      // The sender's earlier message is held by another process: the new one is stored for the claim.
      const earlier = textInboxEntry(a.number.phoneNumberId, { waId: '56900000038', sentAt: at(0) });
      const later = textInboxEntry(a.number.phoneNumberId, { waId: '56900000038', sentAt: at(1) });
      await storeInInbox(harness.inboxQueue, [earlier], {
        lease: { owner: 'elsewhere', leaseMs: 30_000 },
        now: at(0),
      });
      const entries = [answered, unanswered, notNamed, later];
      const reply = textOutboxEntry(a.number.phoneNumberId, { at: at(0) });
      const { stored, processed } = await expectOk(
        harness.inboxQueue.storeAndProcess(
          storingForH(entries, at(0), [answered.id, unanswered.id, later.id]),
          // A's section commits (its scope stays set for the rest of the transaction); b's entry is not
          // answered, and is put back all the same.
          async (_stored, section) => {
            const queued = await section(a.tenant.id, (r) => r.outbox.enqueue([reply]));
            return { result: queued.isOk(), answered: [answered.id] };
          },
        ),
      );
      expect(processed).toBe(true);
      expect(
        await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.outbox.get(reply.id))),
      ).toMatchObject({ status: 'pending' });
      const lease = { owner: 'h', until: at(30) };
      expect(stored).toMatchObject([
        { entry: { id: answered.id, lease } },
        { entry: { id: unanswered.id, lease } },
        { entry: { id: notNamed.id, lease } },
        { outcome: 'stored', entry: { id: later.id } },
      ]);
      expect(stored[3]).not.toHaveProperty('entry.lease');
      // The one put back is held as stored, as is the one not named; the answered one is done.
      expect(await claim('worker', at(1), { ids: [answered.id, unanswered.id, notNamed.id] })).toEqual([]);
      const completing = (tenantId: typeof a.tenant.id, id: string) =>
        expectOk(harness.unitOfWork.run(tenantId, (r) => r.inbox.complete([{ id, lease }], at(2))));
      expect(await completing(b.tenant.id, unanswered.id)).toBe(true);
      expect(await completing(a.tenant.id, answered.id)).toBe(false);
      // The sender's message stored for the claim waits for the earlier one, then is handed out.
      const ids = entries.map((entry) => entry.id);
      const claimed = await claim('worker', at(31), { ids: [...ids, earlier.id] });
      expect(claimed.map((entry) => entry.id).sort()).toEqual([earlier.id, notNamed.id].sort());
      const first = claimed.find((entry) => entry.id === earlier.id)!;
      await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.inbox.complete([first], at(32))));
      expect((await claim('worker', at(33), { ids })).map((entry) => entry.id)).toEqual([later.id]);
    });

    it('hands an entry it wrote done and put back to the next claim whole, with the message it carries', async () => {
      const { number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { waId: '56900000040' });
      await expectOk(
        harness.inboxQueue.storeAndProcess(storingForH([entry], at(0), [entry.id]), async () => ({
          result: undefined,
          answered: [],
        })),
      );
      const [claimed] = await claim('worker', at(31), { ids: [entry.id] });
      expect(claimed).toMatchObject({ id: entry.id, item: entry.item, deliveryKey: entry.deliveryKey });
    });

    it('records what became of sends in the same transaction, before the sections, which see it', async () => {
      const { tenant, number } = await seedTenant(harness);
      const reply = textOutboxEntry(number.phoneNumberId, { at: t0 });
      const other = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([reply, other])));
      const claimed = await expectOk(
        harness.outboxQueue.claim({ owner: 'sender', now: t0, limit: 10, leaseMs: 30_000, horizonMs: 1000 }),
      );
      const [sent, notOurs] = [reply, other].map((entry) => claimed.find((send) => send.id === entry.id)!);
      const { processed, recorded } = await expectOk(
        harness.inboxQueue.storeAndProcess(
          storingForH([textInboxEntry(number.phoneNumberId, { waId: '56900000033' })], at(1)),
          async (_stored, section) => {
            const seen = await section(tenant.id, (r) => r.outbox.get(sent!.id));
            return { result: seen.isOk() ? seen.value?.status : seen.error, answered: [] };
          },
          [
            { kind: 'sent', id: sent!.id, lease: sent!.lease, wamid: 'wamid.rode' as Wamid, at: at(1) },
            { kind: 'sent', id: notOurs!.id, lease: { ...notOurs!.lease, owner: 'someone else' }, at: at(1) },
          ],
        ),
      );
      expect(recorded).toEqual([true, false]);
      expect(processed).toBe('sent');
      const after = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(notOurs!.id)));
      expect(after?.status).toBe('pending');
    });

    it("leaves a sender's new message to the claim while another of theirs is held elsewhere, in order", async () => {
      const { tenant, number } = await seedTenant(harness);
      const first = textInboxEntry(number.phoneNumberId, { sentAt: at(0) });
      const second = textInboxEntry(number.phoneNumberId, { sentAt: at(1) });
      const third = textInboxEntry(number.phoneNumberId, { sentAt: at(2) });
      const [held] = await storeInInbox(harness.inboxQueue, [first], {
        lease: { owner: 'host-1', leaseMs: 30_000 },
        now: at(0),
      });
      expect(held).toMatchObject({ entry: { lease: { owner: 'host-1' } } });
      // The same host keeps the sender's next message (it processes them in order) …
      const [mine] = await storeInInbox(harness.inboxQueue, [second], {
        lease: { owner: 'host-1', leaseMs: 30_000 },
        now: at(1),
      });
      expect(mine).toMatchObject({ entry: { lease: { owner: 'host-1' } } });
      // … another host leaves it for the claim, which waits for the older ones.
      const [queued] = await storeInInbox(harness.inboxQueue, [third], {
        lease: { owner: 'host-2', leaseMs: 30_000 },
        now: at(2),
      });
      expect(queued).toEqual({ outcome: 'stored', entry: { ...third, tenantId: tenant.id, attempts: 0 } });
      expect(await claim('worker', at(3), { ids: [third.id] })).toEqual([]);
      const lease = (result: typeof held) =>
        (result?.outcome === 'stored' && 'lease' in result.entry ? result.entry.lease : undefined)!;
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.inbox.complete(
            [
              { id: first.id, lease: lease(held) },
              { id: second.id, lease: lease(mine) },
            ],
            at(4),
          ),
        ),
      );
      expect((await claim('worker', at(5), { ids: [third.id] })).map((entry) => entry.id)).toEqual([
        third.id,
      ]);
    });

    it('completes several entries only if every lease still holds', async () => {
      const { tenant, number } = await seedTenant(harness);
      const kept = textInboxEntry(number.phoneNumberId, { waId: '56900000021' });
      const lost = textInboxEntry(number.phoneNumberId, { waId: '56900000022' });
      await storeInInbox(harness.inboxQueue, [kept, lost]);
      const claimed = await claim('w', at(1), { ids: [kept.id, lost.id] });
      const leaseOf = (id: string) => claimed.find((entry) => entry.id === id)!.lease;
      // Taken over by another worker (a lease of this owner with an earlier expiry is one renewed since).
      const stale = { owner: 'someone-else', until: leaseOf(lost.id).until };
      const refused = await expectErr(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.inbox
            .complete(
              [
                { id: kept.id, lease: leaseOf(kept.id) },
                { id: lost.id, lease: stale },
              ],
              at(3),
            )
            .andThen((done) => (done ? okAsync('done') : errAsync('lease lost' as const))),
        ),
      );
      expect(refused).toBe('lease lost');
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.complete(
              [kept, lost].map((entry) => ({ id: entry.id, lease: leaseOf(entry.id) })),
              at(3),
            ),
          ),
        ),
      ).toBe(true);
    });

    it('leases an entry to one worker until it is done or the lease runs out', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      await storeInInbox(harness.inboxQueue, [entry]);
      const [claimed] = await claim('worker-a', at(1), { ids: [entry.id] });
      expect(claimed).toMatchObject({
        id: entry.id,
        tenantId: tenant.id,
        attempts: 1,
        item: entry.item,
        lease: { owner: 'worker-a', until: at(31) },
      });
      expect(await claim('worker-b', at(2), { ids: [entry.id] })).toEqual([]);
      const [reclaimed] = await claim('worker-b', at(32), { ids: [entry.id] });
      expect(reclaimed).toMatchObject({ id: entry.id, attempts: 2, lease: { owner: 'worker-b' } });
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.complete([{ id: entry.id, lease: claimed!.lease }], at(33)),
          ),
        ),
      ).toBe(false);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.complete([{ id: entry.id, lease: reclaimed!.lease }], at(33)),
          ),
        ),
      ).toBe(true);
      expect(await claim('worker-c', at(100), { ids: [entry.id] })).toEqual([]);
    });

    it("hands out a sender's messages one at a time, oldest first", async () => {
      const { tenant, number } = await seedTenant(harness);
      const older = textInboxEntry(number.phoneNumberId, { sentAt: at(0), receivedAt: at(5) });
      const newer = textInboxEntry(number.phoneNumberId, { sentAt: at(1), receivedAt: at(2) });
      const otherSender = textInboxEntry(number.phoneNumberId, { sentAt: at(3), waId: '56933334444' });
      await storeInInbox(harness.inboxQueue, [newer, older, otherSender]);
      const first = await claim('w', at(10));
      const ids = first
        .map((entry) => entry.id)
        .filter((id) => [older.id, newer.id, otherSender.id].includes(id));
      expect(ids.sort()).toEqual([older.id, otherSender.id].sort());
      expect(await claim('w2', at(11), { ids: [newer.id] })).toEqual([]);
      const claimedOlder = first.find((entry) => entry.id === older.id)!;
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.inbox.complete([{ id: older.id, lease: claimedOlder.lease }], at(12)),
        ),
      );
      expect((await claim('w3', at(13), { ids: [newer.id] })).map((entry) => entry.id)).toEqual([newer.id]);
    });

    it("holds back a sender's older message that arrives late while a newer one is being processed", async () => {
      const { tenant, number } = await seedTenant(harness);
      const newer = textInboxEntry(number.phoneNumberId, { sentAt: at(10), receivedAt: at(10) });
      await storeInInbox(harness.inboxQueue, [newer]);
      const [running] = await claim('w', at(11), { ids: [newer.id] });
      expect(running?.id).toBe(newer.id);
      const older = textInboxEntry(number.phoneNumberId, { sentAt: at(5), receivedAt: at(12) });
      await storeInInbox(harness.inboxQueue, [older]);
      expect(await claim('w2', at(13), { ids: [older.id] })).toEqual([]);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.inbox.complete([{ id: newer.id, lease: running!.lease }], at(14)),
        ),
      );
      expect((await claim('w2', at(15), { ids: [older.id] })).map((entry) => entry.id)).toEqual([older.id]);
    });

    it('puts a released entry back at its retry time, and forgets an abandoned one', async () => {
      const { tenant, number } = await seedTenant(harness);
      const base = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      const retried = statusEntry(base, 'delivered');
      const dropped = statusEntry(base, 'read');
      await storeInInbox(harness.inboxQueue, [retried, dropped]);
      const claimed = await claim('w', at(1), { ids: [retried.id, dropped.id] });
      expect(claimed).toHaveLength(2);
      const leaseOf = (id: string) => claimed.find((entry) => entry.id === id)!.lease;
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.release(retried.id, leaseOf(retried.id), at(60), 'not yet'),
          ),
        ),
      ).toBe(true);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.abandon(dropped.id, leaseOf(dropped.id), at(2), 'gave up'),
          ),
        ),
      ).toBe(true);
      expect(await claim('w', at(59), { ids: [retried.id, dropped.id] })).toEqual([]);
      expect((await claim('w', at(61), { ids: [retried.id, dropped.id] })).map((entry) => entry.id)).toEqual([
        retried.id,
      ]);
    });

    it('claims across tenants, at most the limit, and reports the depth', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const entries = [
        textInboxEntry(a.number.phoneNumberId, { sentAt: t0, waId: '56900000001' }),
        textInboxEntry(b.number.phoneNumberId, { sentAt: t0, waId: '56900000002' }),
        textInboxEntry(b.number.phoneNumberId, { sentAt: t0, waId: '56900000003' }),
      ];
      await storeInInbox(harness.inboxQueue, [entries[0]!]);
      await storeInInbox(harness.inboxQueue, [entries[1]!, entries[2]!]);
      const ids = entries.map((entry) => entry.id);
      const depth = await expectOk(harness.inboxQueue.depth(at(1)));
      expect(depth.pending).toBeGreaterThanOrEqual(3);
      const limited = await claim('w', at(1), { ids, limit: 2 });
      expect(limited).toHaveLength(2);
      const rest = await claim('w', at(1), { ids });
      expect([...limited, ...rest].map((entry) => entry.tenantId).sort()).toEqual(
        [a.tenant.id, b.tenant.id, b.tenant.id].sort(),
      );
    });
  });
};
