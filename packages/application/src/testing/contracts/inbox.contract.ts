import type { InboundStatus, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewInboxEntry } from '../../ports/inbox.port.ts';
import {
  expectErr,
  expectOk,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  textInboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

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
          ...(options.ids === undefined ? {} : { ids: options.ids }),
        }),
      );

    it('stores each (number, wamid) once, however often Meta delivers it', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      const first = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([entry])));
      expect(first).toEqual({ recorded: [entry.id], duplicates: 0 });
      const again = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.inbox.record([{ ...entry, id: fixtureUuid() }, statusEntry(entry, 'read')]),
        ),
      );
      expect(again.duplicates).toBe(1);
      expect(again.recorded).toHaveLength(1);
    });

    it("refuses entries for another tenant's number", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const error = await expectErr(
        harness.unitOfWork.run(a.tenant.id, (r) => r.inbox.record([textInboxEntry(b.number.phoneNumberId)])),
      );
      expect(error).toMatchObject({ type: 'storage_error', reason: 'constraint' });
    });

    it('leases an entry to one worker until it is done or the lease runs out', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([entry])));
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
          harness.unitOfWork.run(tenant.id, (r) => r.inbox.complete(entry.id, claimed!.lease, at(33))),
        ),
      ).toBe(false);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.inbox.complete(entry.id, reclaimed!.lease, at(33))),
        ),
      ).toBe(true);
      expect(await claim('worker-c', at(100), { ids: [entry.id] })).toEqual([]);
    });

    it("hands out a sender's messages one at a time, oldest first", async () => {
      const { tenant, number } = await seedTenant(harness);
      const older = textInboxEntry(number.phoneNumberId, { sentAt: at(0), receivedAt: at(5) });
      const newer = textInboxEntry(number.phoneNumberId, { sentAt: at(1), receivedAt: at(2) });
      const otherSender = textInboxEntry(number.phoneNumberId, { sentAt: at(3), waId: '56933334444' });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([newer, older, otherSender])));
      const first = await claim('w', at(10));
      const ids = first
        .map((entry) => entry.id)
        .filter((id) => [older.id, newer.id, otherSender.id].includes(id));
      expect(ids.sort()).toEqual([older.id, otherSender.id].sort());
      expect(await claim('w2', at(11), { ids: [newer.id] })).toEqual([]);
      const claimedOlder = first.find((entry) => entry.id === older.id)!;
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.inbox.complete(older.id, claimedOlder.lease, at(12))),
      );
      expect((await claim('w3', at(13), { ids: [newer.id] })).map((entry) => entry.id)).toEqual([newer.id]);
    });

    it("holds back a sender's older message that arrives late while a newer one is being processed", async () => {
      const { tenant, number } = await seedTenant(harness);
      const newer = textInboxEntry(number.phoneNumberId, { sentAt: at(10), receivedAt: at(10) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([newer])));
      const [running] = await claim('w', at(11), { ids: [newer.id] });
      expect(running?.id).toBe(newer.id);
      const older = textInboxEntry(number.phoneNumberId, { sentAt: at(5), receivedAt: at(12) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([older])));
      expect(await claim('w2', at(13), { ids: [older.id] })).toEqual([]);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.inbox.complete(newer.id, running!.lease, at(14))),
      );
      expect((await claim('w2', at(15), { ids: [older.id] })).map((entry) => entry.id)).toEqual([older.id]);
    });

    it('puts a released entry back at its retry time, and forgets an abandoned one', async () => {
      const { tenant, number } = await seedTenant(harness);
      const base = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      const retried = statusEntry(base, 'delivered');
      const dropped = statusEntry(base, 'read');
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.inbox.record([retried, dropped])));
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
      await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.inbox.record([entries[0]!])));
      await expectOk(harness.unitOfWork.run(b.tenant.id, (r) => r.inbox.record([entries[1]!, entries[2]!])));
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
