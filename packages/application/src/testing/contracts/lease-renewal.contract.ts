import type { AgreementId, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedStatusEntry } from '../../ports/inbox.port.ts';
import { outcomeGraceMs } from '../../send-queued-message/send-pacing.ts';
import { seedLoan } from './loan-stores.contract.ts';
import {
  expectOk,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  statusInboxEntry,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const leaseMs = 6000;

export const describeLeaseRenewalContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: LeaseRenewal`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const renew = (
      queue: 'inbox' | 'outbox' | 'reminders',
      owner: string,
      ids: readonly string[],
      now: Date,
    ) => expectOk(harness.leaseRenewal.renew({ queue, owner, ids, leaseMs, now }));

    it('keeps inbox entries held past their first expiry, settled with the lease first handed out', async () => {
      const { tenant, number } = await seedTenant(harness);
      const message = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
      // A status for a message not recorded yet stays stored, held, for a later try.
      const status = statusInboxEntry(number.phoneNumberId, 'wamid.not-yet-recorded' as Wamid, 'read', {
        at: t0,
      });
      const stored = await storeInInbox(harness.inboxQueue, [message, status], {
        lease: { owner: 'w', leaseMs },
        now: t0,
      });
      const held = stored.map((result) => {
        if (result.outcome !== 'stored' || !('lease' in result.entry)) throw new Error('not stored and held');
        return result.entry;
      });
      const unknown = fixtureUuid();
      expect((await renew('inbox', 'w', [held[0]!.id, held[1]!.id, unknown], at(4000))).toSorted()).toEqual(
        [held[0]!.id, held[1]!.id].toSorted(),
      );
      // Past the first expiry: still held, by the renewal, so no one else takes it, nor renews it.
      expect(
        await expectOk(harness.inboxQueue.claim({ owner: 'other', limit: 10, leaseMs, now: at(8000) })),
      ).toEqual([]);
      expect(await renew('inbox', 'other', [held[0]!.id], at(8000))).toEqual([]);
      expect(
        await expectOk(
          harness.inboxQueue.applyStatuses({
            entries: [held[1] as ClaimedStatusEntry],
            now: at(8000),
            followUps: { origins: [], statuses: [] },
          }),
        ),
      ).toEqual([{ entryId: held[1]!.id, result: 'unknown' }]);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.complete([{ id: held[0]!.id, lease: held[0]!.lease }], at(8000)),
          ),
        ),
      ).toBe(true);
      // A finished entry is not renewed; a lease that ran out is not brought back.
      expect(await renew('inbox', 'w', [held[0]!.id], at(9000))).toEqual([]);
      expect(await renew('inbox', 'w', [held[1]!.id], at(10_001))).toEqual([]);
      const [taken] = await expectOk(
        harness.inboxQueue.claim({ owner: 'other', limit: 10, leaseMs, now: at(10_001) }),
      );
      expect(taken?.id).toBe(held[1]!.id);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.inbox.release(held[1]!.id, held[1]!.lease, at(10_002), 'x'),
          ),
        ),
      ).toBe(false);
    });

    it('keeps a claimed send held past its first expiry and grace, its outcome recorded under the first lease', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])));
      const claim = (owner: string, now: Date) =>
        expectOk(harness.outboxQueue.claim({ owner, limit: 10, leaseMs, now, horizonMs: 1000 }));
      const [send] = await claim('w', t0);
      expect(send?.id).toBe(entry.id);
      const firstExpiry = send!.lease.until.getTime() - t0.getTime();
      expect(await renew('outbox', 'w', [send!.id], at(firstExpiry - 1000))).toEqual([send!.id]);
      expect(await renew('outbox', 'other', [send!.id], at(firstExpiry - 500))).toEqual([]);
      const afterFirstGrace = at(firstExpiry + outcomeGraceMs);
      expect(await claim('other', afterFirstGrace)).toEqual([]);
      expect(
        await expectOk(
          harness.outboxQueue.lease({
            owner: 'other',
            leaseMs,
            now: afterFirstGrace,
            horizonMs: 1000,
            ids: [entry.id],
          }),
        ),
      ).toEqual([]);
      expect(
        await expectOk(
          harness.outboxQueue.record([
            {
              kind: 'sent',
              id: send!.id,
              lease: send!.lease,
              wamid: 'wamid.renewed' as Wamid,
              at: afterFirstGrace,
            },
          ]),
        ),
      ).toEqual([true]);
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)))).toMatchObject({
        status: 'sent',
        wamid: 'wamid.renewed',
      });
      expect(await renew('outbox', 'w', [send!.id], afterFirstGrace)).toEqual([]);
    });

    it('keeps a claimed reminder held past its first expiry, settled with the lease first handed out', async () => {
      const { tenant, agreement } = await seedLoan(harness, { status: 'active' });
      const due = {
        id: fixtureUuid(),
        agreementId: agreement.id as AgreementId,
        kind: 'day_before' as const,
        localDate: { year: 2026, month: 3, day: 14 },
        scheduledAt: new Date(Date.UTC(2026, 2, 14, 12)),
        recipientId: agreement.borrowerId,
      };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, [due])));
      const now = new Date(Date.UTC(2026, 2, 14, 12));
      const later = (ms: number) => new Date(now.getTime() + ms);
      const claim = (owner: string, when: Date) =>
        expectOk(harness.reminderQueue.claimDue({ owner, now: when, limit: 10, leaseMs })).then((rows) =>
          rows.filter((row) => row.id === due.id),
        );
      const [claimed] = await claim('w', now);
      expect(await renew('reminders', 'w', [due.id], later(4000))).toEqual([due.id]);
      expect(await claim('other', later(8000))).toEqual([]);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.reminders.markSkipped(due.id, claimed!.lease, 'opted_out'),
          ),
        ),
      ).toBe(true);
      expect(await renew('reminders', 'w', [due.id], later(9000))).toEqual([]);
    });
  });
};
