import type { E164, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedSend } from '../../ports/outbox.port.ts';
import {
  expectOk,
  fixturePhone,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
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
          await expectOk(
            harness.unitOfWork.run(tenant.id, (r) =>
              r.outbox.markSent(send.id, send.lease, `wamid.${send.id}` as Wamid, send.sendAt),
            ),
          );
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
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox.markSent(first.id, claimed[0]!.lease, 'wamid.first' as Wamid, at(12)),
        ),
      );
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
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox
            .enqueue([heldEntry, otherEntry])
            .andThen(() => r.outbox.holdRecipient(number.phoneNumberId, { phone: held }, at(60_000))),
        ),
      );
      const [other] = mine(await claim(at(1000)), number.phoneNumberId);
      expect(other?.id).toBe(otherEntry.id);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox.markSent(otherEntry.id, other!.lease, 'wamid.other' as Wamid, at(1001)),
        ),
      );
      expect(mine(await claim(at(59_999)), number.phoneNumberId)).toEqual([]);
      expect(mine(await claim(at(60_001)), number.phoneNumberId).map((send) => send.id)).toEqual([
        heldEntry.id,
      ]);
    });

    it('holds every message of a number whose token is flagged invalid, until the token is replaced', async () => {
      const { tenant, number } = await seedTenant(harness);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox
            .enqueue([textOutboxEntry(number.phoneNumberId, { at: t0 })])
            .andThen(() => r.numbers.markTokenInvalid(number.phoneNumberId, 190, t0)),
        ),
      );
      expect(mine(await claim(at(1000)), number.phoneNumberId)).toEqual([]);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.numbers.replaceToken(number.phoneNumberId, {
            kind: 'sealed',
            sealed: { keyId: 'k1', ciphertext: 'fresh' },
            length: 10,
          }),
        ),
      );
      expect(mine(await claim(at(2000)), number.phoneNumberId)).toHaveLength(1);
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

    it('records the outcome of a send under its lease only', async () => {
      const { tenant, number } = await seedTenant(harness);
      const [sent, failed, retried] = [0, 1, 2].map(() =>
        textOutboxEntry(number.phoneNumberId, { at: t0, to: fixturePhone() as E164 }),
      );
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([sent!, failed!, retried!])));
      const claimed = mine(await claim(at(1000)), number.phoneNumberId);
      const leaseOf = (id: string) => claimed.find((send) => send.id === id)!.lease;
      const stale = { owner: 'someone-else', until: at(5000) };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.markSent(sent!.id, stale, 'wamid.x' as Wamid, at(1001)),
          ),
        ),
      ).toBe(false);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.markSent(sent!.id, leaseOf(sent!.id), 'wamid.sent' as Wamid, at(1001)),
          ),
        ),
      ).toBe(true);
      const failure = { reason: 'rejected', code: 131026, title: 'Message undeliverable' };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.markFailed(failed!.id, leaseOf(failed!.id), failure, at(1001)),
          ),
        ),
      ).toBe(true);
      const retryFailure = { reason: 'retryable', code: 131000 };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.retryLater(retried!.id, leaseOf(retried!.id), at(9000), retryFailure),
          ),
        ),
      ).toBe(true);
      const get = (id: string) => expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(id)));
      expect(await get(sent!.id)).toMatchObject({ status: 'sent', attempts: 1, wamid: 'wamid.sent' });
      expect(await get(failed!.id)).toMatchObject({ status: 'failed', attempts: 1, lastFailure: failure });
      expect(await get(retried!.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastFailure: retryFailure,
      });
      expect(mine(await claim(at(8999)), number.phoneNumberId)).toEqual([]);
      expect(mine(await claim(at(9001)), number.phoneNumberId).map((send) => send.id)).toEqual([retried!.id]);
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
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.requeue(first!.id, stale))),
      ).toBe(false);
      for (const send of claimed)
        expect(
          await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.requeue(send.id, send.lease))),
        ).toBe(true);
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
