import type { InboundStatus, PhoneNumberId, TenantId, Wamid } from '@prestabot/domain';
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
      const record = (wamid: string, sentAt: Date) =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.recordInbound({
              wamid: wamid as Wamid,
              phoneNumberId: number.phoneNumberId,
              contactId: contact.id,
              type: 'text',
              sentAt,
            }),
          ),
        );
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.lastInboundAt(number.phoneNumberId, contact.id),
          ),
        ),
      ).toBeUndefined();
      await record(`wamid.in.${contact.id}.2`, at(20));
      await record(`wamid.in.${contact.id}.1`, at(10));
      await record(`wamid.in.${contact.id}.2`, at(20));
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.lastInboundAt(number.phoneNumberId, contact.id),
          ),
        ),
      ).toEqual(at(20));
    });

    const noFollowUps = { origins: [], statuses: [] };
    const owner = 'status-worker';

    /** Stores the statuses leased to `owner`, then applies them as one batch. */
    const applyAll = async (entries: readonly NewInboxEntry[], followUps: StatusFollowUps = noFollowUps) => {
      const stored = await storeInInbox(harness.inboxQueue, entries, {
        lease: { owner, leaseMs: 30_000 },
        now: t0,
      });
      const held = stored.flatMap((result) =>
        result.outcome === 'stored' && 'lease' in result.entry ? [result.entry as ClaimedStatusEntry] : [],
      );
      return expectOk(harness.inboxQueue.applyStatuses({ entries: held, now: at(1), followUps }));
    };

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
      const origin: OutboxOrigin = { kind: 'reminder', reminderId: 'rem-1' };
      const { wamid, contact } = await sendOn(tenant.id, number.phoneNumberId, origin);
      const status = (value: InboundStatus['status'], errors: InboundStatus['errors'] = []) =>
        statusInboxEntry(number.phoneNumberId, wamid, value, { errors });
      expect(await applyAll([status('read')])).toEqual([
        {
          entryId: expect.any(String),
          result: 'completed',
          message: { current: 'read', outboxId: `ob-${contact.id}`, origin, contactId: contact.id },
        },
      ]);
      await applyAll([status('delivered')]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({ current: 'read' });
      await applyAll([status('failed', [{ code: 131047, title: 'Re-engagement message' }])]);
      expect(await outbound(tenant.id, wamid)).toMatchObject({
        current: 'failed',
        error: { code: 131047, title: 'Re-engagement message' },
      });
      await applyAll([status('read')]);
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
      await applyAll([
        of(furthest.wamid, 'read'),
        of(furthest.wamid, 'sent'),
        of(furthest.wamid, 'delivered'),
      ]);
      await applyAll([of(failed.wamid, 'read'), of(failed.wamid, 'failed'), of(failed.wamid, 'delivered')]);
      expect(await outbound(tenant.id, furthest.wamid)).toMatchObject({ current: 'read' });
      expect(await outbound(tenant.id, failed.wamid)).toMatchObject({
        current: 'failed',
        error: { code: 131026 },
      });
    });

    it("applies nothing to a wamid it never recorded, or that another tenant's message has, and keeps the entry held", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const { wamid } = await sendOn(b.tenant.id, b.number.phoneNumberId);
      const [unknown] = await applyAll([statusInboxEntry(a.number.phoneNumberId, wamid, 'read')]);
      expect(unknown).toMatchObject({ result: 'unknown' });
      expect(await outbound(b.tenant.id, wamid)).toMatchObject({ current: 'accepted' });
      const again = await expectOk(
        harness.inboxQueue.claim({
          owner: 'w',
          limit: 10,
          leaseMs: 1000,
          now: at(40),
          ids: [unknown!.entryId],
        }),
      );
      expect(again.map((entry) => entry.id)).toEqual([unknown!.entryId]);
      const [applied] = await applyAll([statusInboxEntry(b.number.phoneNumberId, wamid, 'delivered')]);
      expect(applied).toMatchObject({ result: 'completed', message: { current: 'delivered' } });
    });

    it('leaves the statuses a listener wants for it, completing the rest', async () => {
      const { tenant, number } = await seedTenant(harness);
      const reminder = await sendOn(tenant.id, number.phoneNumberId, { kind: 'reminder', reminderId: 'r-9' });
      const plain = await sendOn(tenant.id, number.phoneNumberId);
      const failing = await sendOn(tenant.id, number.phoneNumberId);
      const results = await applyAll(
        [
          statusInboxEntry(number.phoneNumberId, reminder.wamid, 'delivered'),
          statusInboxEntry(number.phoneNumberId, plain.wamid, 'delivered'),
          statusInboxEntry(number.phoneNumberId, failing.wamid, 'failed', { errors: [{ code: 131047 }] }),
        ],
        { origins: ['reminder'], statuses: ['failed'] },
      );
      expect(results.map((result) => result.result)).toEqual(['follow_up', 'completed', 'follow_up']);
      const ids = results.map((result) => result.entryId);
      const reclaimed = await expectOk(
        harness.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: at(40), ids }),
      );
      expect(reclaimed.map((entry) => entry.id).sort()).toEqual([ids[0], ids[2]].sort());
    });

    it('applies nothing for an entry whose lease was lost', async () => {
      const { tenant, number } = await seedTenant(harness);
      const { wamid } = await sendOn(tenant.id, number.phoneNumberId);
      const [stored] = await storeInInbox(
        harness.inboxQueue,
        [statusInboxEntry(number.phoneNumberId, wamid, 'read')],
        {
          lease: { owner, leaseMs: 1000 },
          now: t0,
        },
      );
      const held = (stored as Extract<StoredInboxEntry, { outcome: 'stored' }>).entry as ClaimedStatusEntry;
      await expectOk(
        harness.inboxQueue.claim({ owner: 'other', limit: 10, leaseMs: 1000, now: at(2), ids: [held.id] }),
      );
      const [result] = await expectOk(
        harness.inboxQueue.applyStatuses({ entries: [held], now: at(3), followUps: noFollowUps }),
      );
      expect(result).toEqual({ entryId: held.id, result: 'lease_lost' });
      expect(await outbound(tenant.id, wamid)).toMatchObject({ current: 'accepted' });
    });
  });
};
