import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedSend } from '../../ports/outbox.port.ts';
import { maxInAnySecond } from './max-in-any-second.ts';
import { at, outboxHelpers, t0 } from './outbox-helpers.ts';
import {
  expectOk,
  fixturePhone,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  textOutboxEntry,
} from './storage-harness.ts';

/** Storing messages and claiming them: pacing, order, priority, holds and fairness between numbers. */
export const describeOutboxClaimContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: OutboxStore and OutboxQueue`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const { claim, mine, record, sent } = outboxHelpers(() => harness);

    it('stores a message once per idempotency key', async () => {
      const { tenant, number } = await seedTenant(harness);
      const entry = textOutboxEntry(number.phoneNumberId, { at: t0, key: 'notice:1' });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])))).toEqual({
        enqueued: [entry.id],
        duplicates: 0,
      });
      const again = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.outbox.enqueue([textOutboxEntry(number.phoneNumberId, { key: 'notice:1' })]),
        ),
      );
      expect(again).toEqual({ enqueued: [], duplicates: 1 });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)))).toMatchObject({
        status: 'pending',
        attempts: 0,
        tenantId: tenant.id,
      });
    });

    it("stores the first of a batch's entries that share a key, and another tenant's key as its own", async () => {
      const { tenant, number } = await seedTenant(harness);
      const other = await seedTenant(harness);
      const first = textOutboxEntry(number.phoneNumberId, { at: t0, key: 'notice:1' });
      const sameKey = textOutboxEntry(number.phoneNumberId, { at: t0, key: 'notice:1' });
      const own = textOutboxEntry(number.phoneNumberId, { at: t0 });
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([own, sameKey, first]))),
      ).toEqual({ enqueued: [own.id, sameKey.id], duplicates: 1 });
      const othersEntry = textOutboxEntry(other.number.phoneNumberId, { at: t0, key: 'notice:1' });
      expect(
        await expectOk(harness.unitOfWork.run(other.tenant.id, (r) => r.outbox.enqueue([othersEntry]))),
      ).toEqual({ enqueued: [othersEntry.id], duplicates: 0 });
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(first.id))),
      ).toBeUndefined();
    });

    it('stores every entry without a key (a reply) as a message of its own, beside keyed ones', async () => {
      const { tenant, number } = await seedTenant(harness);
      const keyless = () => textOutboxEntry(number.phoneNumberId, { at: t0, key: null });
      const [reply, alike, keyed, sameKey] = [
        keyless(),
        keyless(),
        textOutboxEntry(number.phoneNumberId, { at: t0, key: 'notice:1' }),
        textOutboxEntry(number.phoneNumberId, { at: t0, key: 'notice:1' }),
      ];
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([reply, keyed, alike, sameKey])),
        ),
      ).toEqual({ enqueued: [reply.id, keyed.id, alike.id], duplicates: 1 });
      const stored = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(alike.id)));
      expect(stored).toMatchObject({ id: alike.id, status: 'pending', message: alike.message });
      expect(stored).not.toHaveProperty('idempotencyKey');
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
  });
};
