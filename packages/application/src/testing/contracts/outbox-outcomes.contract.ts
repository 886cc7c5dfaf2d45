import { type E164, errAsync, okAsync, type PhoneNumberId, type Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageError } from '../../errors.ts';
import type { NewOutboxEntry } from '../../ports/outbox.port.ts';
import { idleSlotAllowanceMs, outcomeGraceMs, slotSpacingMs } from '../../send-queued-message/send-pacing.ts';
import { maxInAnySecond } from './max-in-any-second.ts';
import { at, outboxHelpers, t0 } from './outbox-helpers.ts';
import {
  expectOk,
  fixturePhone,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  statusInboxEntry,
  storeInInbox,
  textOutboxEntry,
} from './storage-harness.ts';

/** Recording what became of claimed sends: sent, template switch, statuses, lost leases and passed slots. */
export const describeOutboxOutcomesContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: OutboxStore and OutboxQueue`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const { claim, mine, record, sent } = outboxHelpers(() => harness);

    it('records the outcome of a send under its lease only, many in one call', async () => {
      const { tenant, number } = await seedTenant(harness);
      const [accepted, failed, retried] = [0, 1, 2].map(() =>
        textOutboxEntry(number.phoneNumberId, { at: t0, to: fixturePhone() as E164 }),
      );
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([accepted!, failed!, retried!])),
      );
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const leaseOf = (id: string) => claimed.find((send) => send.id === id)!.lease;
      const stale = { owner: 'someone-else', until: at(5000) };
      const failure = { reason: 'rejected', code: 131026, title: 'Message undeliverable' };
      const retryFailure = { reason: 'retryable', code: 131000 };
      expect(
        await expectOk(
          harness.outboxQueue.record([
            { kind: 'sent', id: accepted!.id, lease: stale, wamid: 'wamid.x' as Wamid, at: at(1001) },
            {
              kind: 'sent',
              id: accepted!.id,
              lease: leaseOf(accepted!.id),
              wamid: 'wamid.sent' as Wamid,
              at: at(1001),
            },
            { kind: 'failed', id: failed!.id, lease: leaseOf(failed!.id), failure, at: at(1001) },
            // A second outcome for the same send, later in the batch: the first took its lease.
            { kind: 'retry', id: failed!.id, lease: leaseOf(failed!.id), retryAt: at(9000), failure },
            {
              kind: 'retry',
              id: retried!.id,
              lease: leaseOf(retried!.id),
              retryAt: at(9000),
              failure: retryFailure,
            },
          ]),
        ),
      ).toEqual([false, true, true, false, true]);
      // Recorded again (the same answer, a write retried): still recorded.
      expect(await sent({ id: accepted!.id, lease: leaseOf(accepted!.id) }, 'wamid.sent', at(1002))).toBe(
        true,
      );
      const get = (id: string) => expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(id)));
      expect(await get(accepted!.id)).toMatchObject({ status: 'sent', attempts: 1, wamid: 'wamid.sent' });
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.messages.outbound('wamid.sent' as Wamid))),
      ).toMatchObject({ current: 'accepted', outboxId: accepted!.id });
      expect(await get(failed!.id)).toMatchObject({ status: 'failed', attempts: 1, lastFailure: failure });
      expect(await get(retried!.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastFailure: retryFailure,
      });
      expect(mine(await claim(at(8999)), number.phoneNumberId)).toEqual([]);
      expect(mine(await claim(at(9001)), number.phoneNumberId).map((send) => send.id)).toEqual([retried!.id]);
    });

    it('keeps no row of a sent message with no key and no fallback (a reply): its log row holds what stays', async () => {
      const { tenant, number } = await seedTenant(harness);
      const reply = textOutboxEntry(number.phoneNumberId, { at: t0, key: null });
      const keyed = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([reply, keyed])));
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const leaseOf = (id: string) => claimed.find((send) => send.id === id)!.lease;
      const wamidOf = (id: string) => `wamid.${id}` as Wamid;
      const sentRecord = (id: string) =>
        ({ kind: 'sent', id, lease: leaseOf(id), wamid: wamidOf(id), at: at(1001) }) as const;
      // Each recorded, and recorded again later in the same batch.
      expect(
        await expectOk(
          harness.outboxQueue.record([
            sentRecord(reply.id),
            sentRecord(keyed.id),
            sentRecord(reply.id),
            { ...sentRecord(reply.id), wamid: 'wamid.other' as Wamid },
          ]),
        ),
      ).toEqual([true, true, true, false]);
      const get = (id: string) => expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(id)));
      expect(await get(reply.id)).toBeUndefined();
      expect(await get(keyed.id)).toMatchObject({ status: 'sent', wamid: wamidOf(keyed.id) });
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.messages.outbound(wamidOf(reply.id)))),
      ).toMatchObject({ current: 'accepted', outboxId: reply.id, origin: reply.origin });
      // Its row gone, a write that repeats its answer finds no lease to record it under; nothing is sent again.
      expect(await sent({ id: reply.id, lease: leaseOf(reply.id) }, wamidOf(reply.id), at(1002))).toBe(false);
      expect(mine(await claim(at(60_000)), number.phoneNumberId)).toEqual([]);
    });

    it('switches a message to its template when the window had closed, due at once, under its lease only', async () => {
      const { tenant, number } = await seedTenant(harness);
      const template = { type: 'template', name: 'loan_reminder', language: 'es', components: [] } as const;
      const withFallback = { ...textOutboxEntry(number.phoneNumberId, { at: t0 }), fallback: template };
      const without = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([withFallback, without])));
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const leaseOf = (id: string) => claimed.find((send) => send.id === id)!.lease;
      expect(
        await expectOk(
          harness.outboxQueue.record([
            { kind: 'fallback', id: withFallback.id, lease: leaseOf(withFallback.id), at: at(1001) },
            { kind: 'fallback', id: without.id, lease: leaseOf(without.id), at: at(1001) },
          ]),
        ),
      ).toEqual([true, false]);
      const [again] = mine(await claim(at(1002)), number.phoneNumberId);
      expect(again).toMatchObject({ id: withFallback.id, message: template, attempts: 0 });
      expect(again?.fallback).toBeUndefined();
    });

    it("gives messages just queued their slots without a claim, by the claim's rules", async () => {
      const { tenant, number } = await seedTenant(harness, {}, { ratePerSecond: 10 });
      const to = fixturePhone();
      const first = textOutboxEntry(number.phoneNumberId, { to, at: t0 });
      const second = textOutboxEntry(number.phoneNumberId, { to, at: at(1) });
      const others = [0, 1, 2].map(() => textOutboxEntry(number.phoneNumberId, { at: t0 }));
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([first, second, ...others])));
      const lease = (ids: readonly string[], now: Date) =>
        expectOk(harness.outboxQueue.lease({ owner: 'host', leaseMs: 30_000, now, horizonMs: 1000, ids }));
      const leased = await lease([first.id, second.id, ...others.map((entry) => entry.id)], at(10));
      // The recipient's second message waits for the first.
      expect(leased.map((send) => send.id).sort()).toEqual(
        [first.id, ...others.map((entry) => entry.id)].sort(),
      );
      expect(leased.every((send) => send.token.kind === 'sealed' && send.lease.owner === 'host')).toBe(true);
      expect(maxInAnySecond(leased.map((send) => send.sendAt))).toBeLessThanOrEqual(10);
      // Leased already: neither a claim nor another lease hands them out again.
      expect(await lease([first.id], at(11))).toEqual([]);
      expect(mine(await claim(at(11)), number.phoneNumberId)).toEqual([]);
      // The next slots follow the ones the lease handed out.
      await sent(leased.find((send) => send.id === first.id)!, 'wamid.first', at(12));
      const [next] = await lease([second.id], at(13));
      expect(next?.id).toBe(second.id);
      expect(next!.sendAt.getTime()).toBeGreaterThan(
        Math.max(...leased.map((send) => send.sendAt.getTime())),
      );
    });

    it('gives a send placed alone on an idle number its allowance, and places the next one that much later', async () => {
      const { tenant, number } = await seedTenant(harness, {}, { ratePerSecond: 10 });
      const spacing = slotSpacingMs(10);
      const terms = { owner: 'host', leaseMs: 30_000, horizonMs: 1000 };
      const alone = textOutboxEntry(number.phoneNumberId, { at: t0 });
      const [first] = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox.enqueue([alone]).andThen(() => r.outbox.lease({ ...terms, now: at(10), ids: [alone.id] })),
        ),
      );
      expect(first).toMatchObject({ id: alone.id, sendAt: at(10), slotAllowanceMs: idleSlotAllowanceMs });
      // The number is busy now: the next send waits for the allowance as well as the spacing, and gets none.
      const behind = textOutboxEntry(number.phoneNumberId, { at: at(20) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([behind])));
      const [second] = await expectOk(harness.outboxQueue.lease({ ...terms, now: at(20), ids: [behind.id] }));
      expect(second).toMatchObject({
        id: behind.id,
        sendAt: at(Math.ceil(10 + spacing + idleSlotAllowanceMs)),
        slotAllowanceMs: 0,
      });
      // Idle again, a claim placing two sends gives neither an allowance; one placing one alone does.
      const pair = [0, 1].map(() => textOutboxEntry(number.phoneNumberId, { at: at(5000) }));
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(pair)));
      const together = mine(await claim(at(5000)), number.phoneNumberId);
      expect(together.map((send) => send.slotAllowanceMs)).toEqual([0, 0]);
      const last = textOutboxEntry(number.phoneNumberId, { at: at(9000) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([last])));
      expect(mine(await claim(at(9000)), number.phoneNumberId)).toMatchObject([
        { id: last.id, sendAt: at(9000), slotAllowanceMs: idleSlotAllowanceMs },
      ]);
    });

    it("gives the messages a unit of work queues their slots in it: its own tenant's only, undone if it rolls back", async () => {
      const { tenant, number } = await seedTenant(harness, {}, { ratePerSecond: 10 });
      const other = await seedTenant(harness);
      const theirs = textOutboxEntry(other.number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(other.tenant.id, (r) => r.outbox.enqueue([theirs])));
      const terms = { owner: 'host', leaseMs: 30_000, now: at(10), horizonMs: 1000 };
      const undone = textOutboxEntry(number.phoneNumberId, { at: t0 });
      const rolledBack = await harness.unitOfWork.run(tenant.id, (r) =>
        r.outbox
          .enqueue([undone])
          .andThen(() => r.outbox.lease({ ...terms, ids: [undone.id] }))
          .andThen((sends) =>
            sends.length === 1
              ? errAsync(storageError('retryable', 'rolled back on purpose'))
              : okAsync(sends),
          ),
      );
      expect(rolledBack.isErr()).toBe(true);
      const ours = [0, 1, 2].map(() => textOutboxEntry(number.phoneNumberId, { at: t0 }));
      // A template to a new recipient spends its portfolio's messaging limit, which is not the tenant's own.
      const template: NewOutboxEntry = {
        ...textOutboxEntry(number.phoneNumberId, { at: t0 }),
        message: { type: 'template', name: 'loan_reminder', language: 'es_CL', components: [] },
      };
      const leased = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox
            .enqueue([...ours, template])
            .andThen(() =>
              r.outbox.lease({ ...terms, ids: [...ours.map((entry) => entry.id), template.id, theirs.id] }),
            ),
        ),
      );
      expect(leased.map((send) => send.id).sort()).toEqual(ours.map((entry) => entry.id).sort());
      expect(
        leased.every(
          (send) =>
            send.tenantId === tenant.id && send.token.kind === 'sealed' && send.lease.owner === 'host',
        ),
      ).toBe(true);
      // The first slot is where the terms start: the rolled-back lease kept none of the number's pace.
      expect(Math.min(...leased.map((send) => send.sendAt.getTime()))).toBe(at(10).getTime());
      // Three sends cannot crowd a second at 10/s: what keeps the rate is their spacing.
      const slots = leased.map((send) => send.sendAt.getTime()).sort((a, b) => a - b);
      for (let index = 1; index < slots.length; index += 1)
        expect(slots[index]! - slots[index - 1]!).toBeGreaterThanOrEqual(Math.floor(slotSpacingMs(10)));
      // Neither the rolled-back message, the template nor the other tenant's was leased: the latter two wait
      // for a claim.
      const claimed = await claim(at(11));
      expect(mine(claimed, other.number.phoneNumberId).map((send) => send.id)).toEqual([theirs.id]);
      expect(mine(claimed, number.phoneNumberId).map((send) => send.id)).toEqual([template.id]);
    });

    it('marks a send sent when a status names it before its answer was recorded, and takes that answer as recorded', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textOutboxEntry(number.phoneNumberId, { at: t0 });
      const otherTenant = await seedTenant(harness);
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])));
      const [send] = mine(await claim(at(1000)), number.phoneNumberId);
      const wamid = 'wamid.accepted-but-unrecorded' as Wamid;
      const deliverStatus = (phoneNumberId: PhoneNumberId, callbackData: string) =>
        storeInInbox(
          harness.inboxQueue,
          [statusInboxEntry(phoneNumberId, wamid, 'delivered', { at: at(1001), callbackData })],
          { lease: { owner: 'w', leaseMs: 30_000 }, now: at(1001) },
        );
      // Another tenant's status cannot name this tenant's message: it stays unknown, held.
      expect(await deliverStatus(otherTenant.number.phoneNumberId, entry.id)).toMatchObject([
        { outcome: 'stored' },
      ]);
      expect(await deliverStatus(number.phoneNumberId, entry.id)).toEqual([{ outcome: 'applied' }]);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.messages.outbound(wamid))),
      ).toMatchObject({ current: 'delivered', outboxId: entry.id });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)))).toMatchObject({
        status: 'sent',
        wamid,
      });
      expect(await sent(send!, wamid, at(1003))).toBe(true);
      expect(
        await record({
          kind: 'retry',
          id: send!.id,
          lease: send!.lease,
          retryAt: at(2000),
          failure: { reason: 'retryable' },
        }),
      ).toBe(false);
      expect(mine(await claim(at(40_000)), number.phoneNumberId)).toEqual([]);
    });

    it('waits a grace period after a lease ran out with no outcome, for a status naming the send, before sending it again', async () => {
      const { tenant, number } = await seedTenant(harness);
      const [answered, silent] = [0, 1].map(() => textOutboxEntry(number.phoneNumberId, { at: t0 }));
      // Queued after `silent`, to the same recipient: it must not overtake it.
      const behind = {
        ...textOutboxEntry(number.phoneNumberId, { at: at(1) }),
        recipient: silent!.recipient!,
      };
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([answered!, silent!, behind])),
      );
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      expect(claimed.map((send) => send.id).sort()).toEqual([answered!.id, silent!.id].sort());
      // Both were in flight when their worker died: no outcome was recorded, and the leases ran out.
      const expiries = claimed.map((send) => send.lease.until.getTime() - t0.getTime());
      const withinGrace = at(Math.min(...expiries) + outcomeGraceMs - 1);
      expect(mine(await claim(withinGrace), number.phoneNumberId)).toEqual([]);
      expect(
        await expectOk(
          harness.outboxQueue.lease({
            owner: 'host',
            leaseMs: 30_000,
            now: withinGrace,
            horizonMs: 1000,
            ids: [answered!.id, silent!.id, behind.id],
          }),
        ),
      ).toEqual([]);
      // Meta's status names one of them: it was accepted, and is never sent again.
      const wamid = 'wamid.accepted-before-the-crash' as Wamid;
      expect(
        await storeInInbox(
          harness.inboxQueue,
          [
            statusInboxEntry(number.phoneNumberId, wamid, 'sent', {
              at: withinGrace,
              callbackData: answered!.id,
            }),
          ],
          { lease: { owner: 'w', leaseMs: 30_000 }, now: withinGrace },
        ),
      ).toEqual([{ outcome: 'applied' }]);
      // After the grace, the other goes again, once, and its recipient's next message still waits for it.
      const afterGrace = at(Math.max(...expiries) + outcomeGraceMs);
      const again = mine(await claim(afterGrace), number.phoneNumberId);
      expect(again.map((send) => send.id)).toEqual([silent!.id]);
      expect(mine(await claim(at(afterGrace.getTime() - t0.getTime() + 1)), number.phoneNumberId)).toEqual(
        [],
      );
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(answered!.id))),
      ).toMatchObject({
        status: 'sent',
        wamid,
      });
    });

    it('requeues a message whose slot passed, marked, without counting an attempt, under its lease only', async () => {
      const { tenant, number } = await seedTenant(harness);
      const [first, second] = [0, 1].map(() =>
        textOutboxEntry(number.phoneNumberId, { at: t0, to: fixturePhone() as E164 }),
      );
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([first!, second!])));
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const order = claimed.map((send) => send.id);
      expect([...order].sort()).toEqual([first!.id, second!.id].sort());
      const stale = { owner: 'someone-else', until: at(5000) };
      expect(await record({ kind: 'requeue', id: first!.id, lease: stale })).toBe(false);
      for (const send of claimed)
        expect(await record({ kind: 'requeue', id: send.id, lease: send.lease })).toBe(true);
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(first!.id)))).toMatchObject(
        { status: 'pending', attempts: 0 },
      );
      // Back at once, in its place in the number's queue.
      const again = mine(await claim(at(1001)), number.phoneNumberId);
      expect(again.map((send) => send.id)).toEqual(order);
      expect(again[0]!.sendAt.getTime()).toBeGreaterThan(claimed[1]!.sendAt.getTime());
      // Counted: after `maxSlotMisses` a message goes even if late.
      expect(claimed.map((send) => send.slotMisses)).toEqual([0, 0]);
      expect(again.map((send) => send.slotMisses)).toEqual([1, 1]);
    });
  });
};
