import type { E164, PhoneNumberId, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedSend, SendRecord } from '../../ports/outbox.port.ts';
import { outcomeGraceMs } from '../../send-queued-message/send-pacing.ts';
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

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** The most sends that fall into any one-second window [t, t + 1 s). */
export const maxInAnySecond = (times: readonly Date[]): number => {
  const sorted = times.map((time) => time.getTime()).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= 1000) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
};

export const describeOutboxContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: OutboxStore and OutboxQueue`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const claim = (now: Date, options: { limit?: number; horizonMs?: number; owner?: string } = {}) =>
      expectOk(
        harness.outboxQueue.claim({
          owner: options.owner ?? 'w',
          now,
          limit: options.limit ?? 500,
          leaseMs: 30_000,
          horizonMs: options.horizonMs ?? 1000,
        }),
      );

    const mine = (claimed: readonly ClaimedSend[], phoneNumberId: string) =>
      claimed.filter((send) => send.phoneNumberId === phoneNumberId);

    const record = async (outcome: SendRecord): Promise<boolean> =>
      (await expectOk(harness.outboxQueue.record([outcome])))[0]!;

    const sent = (send: Pick<ClaimedSend, 'id' | 'lease'>, wamid: string, when: Date) =>
      record({ kind: 'sent', id: send.id, lease: send.lease, wamid: wamid as Wamid, at: when });

    it('stores a message once per idempotency key', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textOutboxEntry(number.phoneNumberId, { at: t0 });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])))).toEqual({
        enqueued: [entry.id],
        duplicates: 0,
      });
      const again = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox.enqueue([
            { ...textOutboxEntry(number.phoneNumberId), idempotencyKey: entry.idempotencyKey },
          ]),
        ),
      );
      expect(again).toEqual({ enqueued: [], duplicates: 1 });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)))).toMatchObject({
        status: 'pending',
        attempts: 0,
        tenantId: tenant.id,
      });
    });

    it("spaces a number's sends so no one-second window holds more than its rate, and stays close to it", async () => {
      const { tenant, number } = await seedTenant(harness, {}, { ratePerSecond: 5 });
      const entries = Array.from({ length: 30 }, () => textOutboxEntry(number.phoneNumberId, { at: t0 }));
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(entries)));
      const slots: Date[] = [];
      for (let step = 0; step < 60 && slots.length < 30; step += 1) {
        const now = at(step * 250);
        const claimed = mine(await claim(now, { owner: `w${step % 2}` }), number.phoneNumberId);
        for (const send of claimed) {
          expect(send.sendAt.getTime()).toBeGreaterThanOrEqual(now.getTime());
          expect(send.sendAt.getTime()).toBeLessThanOrEqual(now.getTime() + 1000);
          slots.push(send.sendAt);
          await sent(send, `wamid.${send.id}`, send.sendAt);
        }
      }
      expect(slots).toHaveLength(30);
      expect(maxInAnySecond(slots)).toBeLessThanOrEqual(5);
      const spanSeconds = (Math.max(...slots.map(Number)) - Math.min(...slots.map(Number))) / 1000;
      expect(29 / spanSeconds).toBeGreaterThanOrEqual(5 * 0.95);
    });

    it('sends to one recipient one message at a time, in order', async () => {
      const { tenant, number } = await seedTenant(harness);
      const to = fixturePhone();
      const first = textOutboxEntry(number.phoneNumberId, { to, at: t0 });
      const second = textOutboxEntry(number.phoneNumberId, { to, at: at(1) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([second, first])));
      const claimed = mine(await claim(at(10)), number.phoneNumberId);
      expect(claimed.map((send) => send.id)).toEqual([first.id]);
      expect(mine(await claim(at(11)), number.phoneNumberId)).toEqual([]);
      await sent(claimed[0]!, 'wamid.first', at(12));
      expect(mine(await claim(at(13)), number.phoneNumberId).map((send) => send.id)).toEqual([second.id]);
    });

    it('sends higher priority first within a number', async () => {
      const { tenant, number } = await seedTenant(harness);
      const bulk = textOutboxEntry(number.phoneNumberId, { at: t0, priority: 0 });
      const reply = textOutboxEntry(number.phoneNumberId, { at: at(5), priority: 10 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([bulk, reply])));
      const claimed = mine(await claim(at(10)), number.phoneNumberId);
      expect(claimed.map((send) => send.id)).toEqual([reply.id, bulk.id]);
      expect(claimed[0]!.sendAt.getTime()).toBeLessThan(claimed[1]!.sendAt.getTime());
    });

    it("holds a recipient after Meta's pair limit, without holding the number", async () => {
      const { tenant, number } = await seedTenant(harness);
      const held = fixturePhone();
      const heldEntry = textOutboxEntry(number.phoneNumberId, { to: held, at: t0 });
      const otherEntry = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([heldEntry, otherEntry])));
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const byId = (id: string) => claimed.find((send) => send.id === id)!;
      const failure = { reason: 'pair_rate_limited', code: 131056 };
      expect(
        await record({
          kind: 'hold',
          id: heldEntry.id,
          lease: byId(heldEntry.id).lease,
          retryAt: at(60_000),
          failure,
        }),
      ).toBe(true);
      await sent(byId(otherEntry.id), 'wamid.other', at(1001));
      const fresh = textOutboxEntry(number.phoneNumberId, { at: at(2000) });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([fresh])));
      expect(mine(await claim(at(59_999)), number.phoneNumberId).map((send) => send.id)).toEqual([fresh.id]);
      expect(mine(await claim(at(60_001)), number.phoneNumberId).map((send) => send.id)).toEqual([
        heldEntry.id,
      ]);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(heldEntry.id))),
      ).toMatchObject({
        attempts: 1,
        lastFailure: failure,
      });
    });

    it('flags the token Graph refused and holds the number until it is replaced, unless it already was', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entries = [0, 1, 2].map(() =>
        textOutboxEntry(number.phoneNumberId, { at: t0, to: fixturePhone() }),
      );
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(entries)));
      const [first, second] = mine(await claim(at(1000), { limit: 2 }), number.phoneNumberId);
      expect(first!.token).toEqual(number.token);
      const refused = (send: ClaimedSend, token: ClaimedSend['token']) =>
        record({
          kind: 'token_invalid',
          id: send.id,
          lease: send.lease,
          at: at(1001),
          // The dispatcher pauses a refused number for a minute; a rotation ends the pause.
          retryAt: at(61_000),
          errorCode: 190,
          token,
          failure: { reason: 'token_invalid', code: 190 },
        });
      const fresh = { kind: 'sealed' as const, sealed: { keyId: 'k1', ciphertext: 'fresh' }, length: 10 };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.numbers.replaceToken(number.phoneNumberId, fresh)),
        ),
      ).toBe(true);
      // A late 190 for the token replaced since does not flag the new one.
      expect(await refused(first!, first!.token)).toBe(true);
      expect(
        (await expectOk(harness.directory.findNumber(number.phoneNumberId)))?.number.tokenStatus,
      ).toEqual({
        kind: 'set',
        length: 10,
      });
      // The current token refused: the number is held until its token is replaced.
      expect(await refused(second!, fresh)).toBe(true);
      expect(
        (await expectOk(harness.directory.findNumber(number.phoneNumberId)))?.number.tokenStatus,
      ).toMatchObject({
        kind: 'invalid',
        errorCode: 190,
      });
      expect(mine(await claim(at(5000)), number.phoneNumberId)).toEqual([]);
      const fresher = { ...fresh, sealed: { keyId: 'k1', ciphertext: 'fresher' } };
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.replaceToken(number.phoneNumberId, fresher)),
      );
      const resumed = mine(await claim(at(6000)), number.phoneNumberId);
      expect(resumed).toHaveLength(3);
      expect(
        resumed.every((send) => send.token.kind === 'sealed' && send.token.sealed.ciphertext === 'fresher'),
      ).toBe(true);
    });

    it("serves every number with work, so one tenant's backlog never starves another", async () => {
      const busy = await seedTenant(harness, {}, { ratePerSecond: 1000 });
      const quiet = await seedTenant(harness);
      const backlog = Array.from({ length: 200 }, () =>
        textOutboxEntry(busy.number.phoneNumberId, { at: t0 }),
      );
      await expectOk(harness.unitOfWork.run(busy.tenant.id, (r) => r.outbox.enqueue(backlog)));
      const lone = textOutboxEntry(quiet.number.phoneNumberId, { at: at(500) });
      await expectOk(harness.unitOfWork.run(quiet.tenant.id, (r) => r.outbox.enqueue([lone])));
      const claimed = await claim(at(1000), { limit: 20 });
      expect(claimed.map((send) => send.id)).toContain(lone.id);
      expect(claimed.length).toBeLessThanOrEqual(20);
    });

    it("spends a claim's limit only on sends it can place, so a slow number leaves the rest to the others", async () => {
      // Before every other test's messages are due (2026), so the claim's limit meets only this test's, and
      // after the retention suite's cutoffs (2019, 2020), so its prunes do not meet them either.
      const era = new Date('2024-01-01T00:00:00.000Z');
      const slow = await seedTenant(harness, {}, { ratePerSecond: 1 });
      const fast = await seedTenant(harness, {}, { ratePerSecond: 80 });
      // The slow number's messages come first in every turn of the round robin; one second holds one of them.
      const slowEntries = [0, 1].map(() => textOutboxEntry(slow.number.phoneNumberId, { at: era }));
      const fastEntries = [0, 1].map(() =>
        textOutboxEntry(fast.number.phoneNumberId, { at: new Date(era.getTime() + 1) }),
      );
      await expectOk(harness.unitOfWork.run(slow.tenant.id, (r) => r.outbox.enqueue(slowEntries)));
      await expectOk(harness.unitOfWork.run(fast.tenant.id, (r) => r.outbox.enqueue(fastEntries)));
      const now = new Date(era.getTime() + 10);
      const claimed = await claim(now, { limit: 3, horizonMs: 1000 });
      expect(mine(claimed, slow.number.phoneNumberId)).toHaveLength(1);
      expect(
        mine(claimed, fast.number.phoneNumberId)
          .map((send) => send.id)
          .sort(),
      ).toEqual(fastEntries.map((entry) => entry.id).sort());
      // The slow number's second message gets its next slot, a second later.
      const next = await claim(new Date(now.getTime() + 1000), { limit: 3, horizonMs: 1000 });
      expect(mine(next, slow.number.phoneNumberId)).toHaveLength(1);
      for (const send of [...claimed, ...next]) await sent(send, `wamid.${send.id}`, send.sendAt);
    });

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
