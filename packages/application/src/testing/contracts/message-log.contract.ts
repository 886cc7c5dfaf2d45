import {
  type InboundStatus,
  type PhoneNumberId,
  ResultAsync,
  type TenantId,
  type Wamid,
} from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ClaimedStatusEntry,
  NewInboxEntry,
  StatusFollowUps,
  StoredInboxEntry,
} from '../../ports/inbox.port.ts';
import type { OutboxOrigin } from '../../ports/outbox.port.ts';
import {
  expectOk,
  fixtureNumber,
  type StorageHarness,
  type StorageHarnessFactory,
  seedContact,
  seedTenant,
  statusInboxEntry,
  storeInInbox,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

export const describeMessageLogContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: MessageLog`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it("knows the user's last message per number, by WhatsApp timestamp", async () => {
      const { tenant, number } = await seedTenant(harness);
      const contact = await seedContact(harness, tenant.id);
      const record = (sentAt: Date) =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.recordInbound({ phoneNumberId: number.phoneNumberId, contactId: contact.id, sentAt }),
          ),
        );
      const lastInbound = () =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.lastInboundAt(number.phoneNumberId, contact.id),
          ),
        );
      expect(await lastInbound()).toBeUndefined();
      await record(at(20));
      // An older message recorded late (a redelivery, a retried entry) does not move the window back.
      await record(at(10));
      await record(at(20));
      expect(await lastInbound()).toEqual(at(20));
      await record(at(30));
      expect(await lastInbound()).toEqual(at(30));
    });

    it('keeps a window per number and contact', async () => {
      const { tenant, number } = await seedTenant(harness);
      const otherNumber = fixtureNumber();
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.numbers.add(otherNumber)));
      const ana = await seedContact(harness, tenant.id);
      const bea = await seedContact(harness, tenant.id);
      const writes = [
        [number, ana, at(10)],
        [number, bea, at(30)],
        [otherNumber, ana, at(50)],
      ] as const;
      for (const [to, from, sentAt] of writes)
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.recordInbound({ phoneNumberId: to.phoneNumberId, contactId: from.id, sentAt }),
          ),
        );
      const windows = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          ResultAsync.combine([
            r.messages.lastInboundAt(number.phoneNumberId, ana.id),
            r.messages.lastInboundAt(number.phoneNumberId, bea.id),
            r.messages.lastInboundAt(otherNumber.phoneNumberId, ana.id),
            r.messages.lastInboundAt(otherNumber.phoneNumberId, bea.id),
          ]),
        ),
      );
      expect(windows).toEqual([at(10), at(30), at(50), undefined]);
    });

    const noFollowUps = { origins: [], statuses: [] };
    const owner = 'status-worker';

    /** Stores statuses as a webhook does (leased to `owner`): those that need nothing more are applied. */
    const deliver = (entries: readonly NewInboxEntry[], followUps: StatusFollowUps = noFollowUps) =>
      storeInInbox(harness.inboxQueue, entries, { lease: { owner, leaseMs: 30_000 }, now: t0, followUps });

    const heldOf = (stored: readonly StoredInboxEntry[]) =>
      stored.flatMap((result) =>
        result.outcome === 'stored' && 'lease' in result.entry ? [result.entry as ClaimedStatusEntry] : [],
      );

    const sendOn = async (
      tenantId: TenantId,
      phoneNumberId: PhoneNumberId,
      origin: OutboxOrigin = { kind: 'notification' },
    ) => {
      const contact = await seedContact(harness, tenantId);
      const wamid = `wamid.out.${contact.id}` as Wamid;
      await expectOk(
        harness.unitOfWork.run(tenantId, (r) =>
          r.messages.recordOutbound({
            wamid,
            phoneNumberId,
            contactId: contact.id,
            outboxId: `ob-${contact.id}`,
            origin,
            type: 'template',
            acceptedAt: t0,
          }),
        ),
      );
      return { wamid, contact };
    };

    const outbound = (tenantId: TenantId, wamid: Wamid) =>
      expectOk(harness.unitOfWork.run(tenantId, (r) => r.messages.outbound(wamid)));

    it('moves a message forward only, keeps failed for good, and keeps the error', async () => {
      const { tenant, number } = await seedTenant(harness);
      const { wamid } = await sendOn(tenant.id, number.phoneNumberId);
      const status = (value: InboundStatus['status'], errors: InboundStatus['errors'] = []) =>
        statusInboxEntry(number.phoneNumberId, wamid, value, { errors });
      expect(await deliver([status('read')])).toEqual([{ outcome: 'applied' }]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({ current: 'read' });
      await deliver([status('delivered')]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({ current: 'read' });
      await deliver([status('failed', [{ code: 131047, title: 'Re-engagement message' }])]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({
        current: 'failed',
        error: { code: 131047, title: 'Re-engagement message' },
      });
      await deliver([status('read')]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({ current: 'failed' });
    });

    it('gives several statuses of one message in one batch the same result in any order', async () => {
      const { tenant, number } = await seedTenant(harness);
      const furthest = await sendOn(tenant.id, number.phoneNumberId);
      const failed = await sendOn(tenant.id, number.phoneNumberId);
      const of = (wamid: Wamid, value: InboundStatus['status']) =>
        statusInboxEntry(
          number.phoneNumberId,
          wamid,
          value,
          value === 'failed' ? { errors: [{ code: 131026 }] } : {},
        );
      await deliver([
        of(furthest.wamid, 'read'),
        of(furthest.wamid, 'sent'),
        of(furthest.wamid, 'delivered'),
      ]);
      await deliver([of(failed.wamid, 'read'), of(failed.wamid, 'failed'), of(failed.wamid, 'delivered')]);
      expect(await outbound(tenant.id, furthest.wamid)).toMatchObject({ current: 'read' });
      expect(await outbound(tenant.id, failed.wamid)).toMatchObject({
        current: 'failed',
        error: { code: 131026 },
      });
    });

    it("keeps a status for a wamid it never recorded, or another tenant's, held and unapplied until its message is known", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const { wamid } = await sendOn(b.tenant.id, b.number.phoneNumberId);
      const stored = await deliver([statusInboxEntry(a.number.phoneNumberId, wamid, 'read')]);
      expect(stored).toMatchObject([{ outcome: 'stored', entry: { tenantId: a.tenant.id } }]);
      expect(await outbound(b.tenant.id, wamid)).toMatchObject({ current: 'accepted' });
      const [held] = heldOf(stored);
      const [again] = await expectOk(
        harness.inboxQueue.applyStatuses({ entries: [held!], now: at(1), followUps: noFollowUps }),
      );
      expect(again).toEqual({ entryId: held!.id, result: 'unknown' });
      const reclaimed = await expectOk(
        harness.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: at(40), ids: [held!.id] }),
      );
      expect(reclaimed.map((entry) => entry.id)).toEqual([held!.id]);
      expect(await deliver([statusInboxEntry(b.number.phoneNumberId, wamid, 'delivered')])).toEqual([
        { outcome: 'applied' },
      ]);
      expect(await outbound(b.tenant.id, wamid)).toMatchObject({ current: 'delivered' });
    });

    it('applies a held status once its message is known, completing its entry', async () => {
      const { tenant, number } = await seedTenant(harness);
      const wamid = `wamid.late.${tenant.id}` as Wamid;
      const [held] = heldOf(await deliver([statusInboxEntry(number.phoneNumberId, wamid, 'delivered')]));
      const contact = await seedContact(harness, tenant.id);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.messages.recordOutbound({
            wamid,
            phoneNumberId: number.phoneNumberId,
            contactId: contact.id,
            outboxId: 'ob-late',
            origin: { kind: 'notification' },
            type: 'text',
            acceptedAt: t0,
          }),
        ),
      );
      expect(
        await expectOk(
          harness.inboxQueue.applyStatuses({ entries: [held!], now: at(1), followUps: noFollowUps }),
        ),
      ).toEqual([
        {
          entryId: held!.id,
          result: 'completed',
          message: {
            current: 'delivered',
            outboxId: 'ob-late',
            origin: { kind: 'notification' },
            contactId: contact.id,
          },
        },
      ]);
      expect(
        await expectOk(
          harness.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: at(40), ids: [held!.id] }),
        ),
      ).toEqual([]);
    });

    it('keeps the statuses a listener wants for it, applying the rest at once', async () => {
      const { tenant, number } = await seedTenant(harness);
      const reminder = await sendOn(tenant.id, number.phoneNumberId, { kind: 'reminder', reminderId: 'r-9' });
      const plain = await sendOn(tenant.id, number.phoneNumberId);
      const failing = await sendOn(tenant.id, number.phoneNumberId);
      const followUps: StatusFollowUps = { origins: ['reminder'], statuses: ['failed'] };
      const stored = await deliver(
        [
          statusInboxEntry(number.phoneNumberId, reminder.wamid, 'delivered'),
          statusInboxEntry(number.phoneNumberId, plain.wamid, 'delivered'),
          statusInboxEntry(number.phoneNumberId, failing.wamid, 'failed', { errors: [{ code: 131047 }] }),
        ],
        followUps,
      );
      expect(stored.map((result) => result.outcome)).toEqual(['stored', 'applied', 'stored']);
      // Applied already: the listener's statuses are left for it to complete.
      const results = await expectOk(
        harness.inboxQueue.applyStatuses({ entries: heldOf(stored), now: at(1), followUps }),
      );
      expect(results.map((result) => result.result)).toEqual(['follow_up', 'follow_up']);
      expect(await outbound(tenant.id, reminder.wamid)).toMatchObject({ current: 'delivered' });
      expect(await outbound(tenant.id, failing.wamid)).toMatchObject({ current: 'failed' });
    });

    it('applies nothing for an entry whose lease was lost', async () => {
      const { tenant, number } = await seedTenant(harness);
      const wamid = `wamid.lost.${tenant.id}` as Wamid;
      const [held] = heldOf(
        await storeInInbox(harness.inboxQueue, [statusInboxEntry(number.phoneNumberId, wamid, 'read')], {
          lease: { owner, leaseMs: 1000 },
          now: t0,
        }),
      );
      await expectOk(
        harness.inboxQueue.claim({ owner: 'other', limit: 10, leaseMs: 1000, now: at(2), ids: [held!.id] }),
      );
      const [result] = await expectOk(
        harness.inboxQueue.applyStatuses({ entries: [held!], now: at(3), followUps: noFollowUps }),
      );
      expect(result).toEqual({ entryId: held!.id, result: 'lease_lost' });
    });
  });
};
