import {
  type E164,
  messagingWindowMs,
  type PhoneNumberId,
  type TenantId,
  type Wamid,
} from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedSend, NewOutboxEntry } from '../../ports/outbox.port.ts';
import { outcomeGraceMs, slotSpacingMs } from '../../send-queued-message/send-pacing.ts';
import {
  expectOk,
  fixtureNumber,
  fixturePhone,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  textOutboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const leaseMs = 30_000;
/** When a send leased at `t0` stops counting against its portfolio's limit. */
const windowMovedOn = at(leaseMs + outcomeGraceMs + messagingWindowMs + 10_000);

const templateEntry = (
  phoneNumberId: PhoneNumberId,
  options: { readonly to?: E164; readonly priority?: number; readonly at?: Date } = {},
): NewOutboxEntry => ({
  ...textOutboxEntry(phoneNumberId, options),
  message: { type: 'template', name: 'loan_reminder', language: 'es_CL', components: [] },
});

/** Meta's messaging limits, as the outbox keeps them (`OutboxQueue`, `OutboxStore.messagingLimitRoom`). */
export const describeMessagingLimitsContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: messaging limits`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    // The harness may share its database with other suites: each test looks at its own numbers only.
    let numbers: readonly PhoneNumberId[] = [];
    const claim = async (now: Date, horizonMs = 1000) =>
      (await expectOk(harness.outboxQueue.claim({ owner: 'w', now, limit: 500, leaseMs, horizonMs }))).filter(
        (send) => numbers.includes(send.phoneNumberId),
      );
    const heldNow = async (now: Date) => (await expectOk(harness.outboxQueue.depth(now))).held ?? 0;
    const seed = async () => {
      const seeded = await seedTenant(harness);
      numbers = [seeded.number.phoneNumberId];
      return seeded;
    };
    const enqueue = (tenantId: TenantId, entries: readonly NewOutboxEntry[]) =>
      expectOk(harness.unitOfWork.run(tenantId, (r) => r.outbox.enqueue(entries)));
    const report = (
      tenantId: TenantId,
      phoneNumberId: PhoneNumberId,
      change: { qualityFlagged?: boolean; messagingLimit?: number | 'unlimited' },
    ) =>
      expectOk(harness.unitOfWork.run(tenantId, (r) => r.numbers.recordAccountEvent(phoneNumberId, change)));
    const sendAll = (claimed: readonly ClaimedSend[]) =>
      expectOk(
        harness.outboxQueue.record(
          claimed.map((send) => ({
            kind: 'sent' as const,
            id: send.id,
            lease: send.lease,
            wamid: `wamid.${send.id}` as Wamid,
            at: send.sendAt,
          })),
        ),
      );
    const ids = (sends: readonly { readonly id: string }[]) => sends.map((send) => send.id).sort();

    it('holds templates to new recipients past the limit, and lets everything else go', async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 3 });
      const templates = [1, 3, 2, 1, 5].map((priority) =>
        templateEntry(number.phoneNumberId, { priority, at: t0 }),
      );
      const text = textOutboxEntry(number.phoneNumberId, { at: t0 });
      await enqueue(tenant.id, [...templates, text]);

      const heldBefore = await heldNow(at(20));
      const first = await claim(at(10));
      // The three of highest priority, and the free-form message, which the limit does not count.
      expect(ids(first)).toEqual(ids([templates[4]!, templates[1]!, templates[2]!, text]));
      expect(first.every((send) => send.limitHeldAt === undefined)).toBe(true);
      expect((await heldNow(at(20))) - heldBefore).toBe(2);
      await sendAll(first);
      expect(await claim(at(60 * 60 * 1000))).toEqual([]);

      const room = (to: E164) =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.messagingLimitRoom(number.phoneNumberId, { phone: to }, at(100)),
          ),
        );
      // A new recipient would wait behind the two held; one reached already costs nothing.
      expect(await room(fixturePhone())).toBe(-2);
      const reached = templates[4]!.recipient as { readonly phone: E164 };
      expect(await room(reached.phone)).toBeUndefined();
      const again = templateEntry(number.phoneNumberId, { to: reached.phone, at: at(200) });
      await enqueue(tenant.id, [again]);
      const free = await claim(at(300));
      expect(ids(free)).toEqual([again.id]);
      await sendAll(free);

      // As the window moves on, the held ones go, each marked as held.
      const released = await claim(windowMovedOn);
      expect(ids(released)).toEqual(ids([templates[0]!, templates[3]!]));
      expect(released.every((send) => send.limitHeldAt?.getTime() === at(10).getTime())).toBe(true);
    });

    it('releases held messages in priority order as room appears', async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 1 });
      const preDue = templateEntry(number.phoneNumberId, { priority: 1, at: t0 });
      const dueDay = templateEntry(number.phoneNumberId, { priority: 3, at: t0 });
      const overdue = templateEntry(number.phoneNumberId, { priority: 2, at: t0 });
      await enqueue(tenant.id, [preDue, dueDay, overdue]);
      await sendAll(await claim(at(10)));
      // A request someone just made arrives while the others wait: it goes first when there is room.
      const request = templateEntry(number.phoneNumberId, { priority: 5, at: at(1000) });
      await enqueue(tenant.id, [request]);
      expect(await claim(at(2000))).toEqual([]);
      const order: string[] = [];
      let now = windowMovedOn;
      for (let step = 0; step < 4 && order.length < 3; step += 1) {
        const claimed = await claim(now);
        expect(claimed.length).toBeLessThanOrEqual(1);
        order.push(...claimed.map((send) => send.id));
        await sendAll(claimed);
        now = new Date(now.getTime() + leaseMs + outcomeGraceMs + messagingWindowMs + 1);
      }
      expect(order).toEqual([request.id, overdue.id, preDue.id]);
    });

    it("counts a tenant's numbers as one portfolio until a sync names theirs", async () => {
      const { tenant, number } = await seed();
      const second = fixtureNumber();
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.numbers.add(second)));
      numbers = [number.phoneNumberId, second.phoneNumberId];
      const heldBefore = await heldNow(at(20));
      for (const phoneNumberId of [number.phoneNumberId, second.phoneNumberId])
        await report(tenant.id, phoneNumberId, { messagingLimit: 2 });
      await enqueue(tenant.id, [
        templateEntry(number.phoneNumberId, { at: t0 }),
        templateEntry(number.phoneNumberId, { at: t0 }),
        templateEntry(second.phoneNumberId, { at: t0 }),
        templateEntry(second.phoneNumberId, { at: t0 }),
      ]);
      expect(await claim(at(10))).toHaveLength(2);
      expect((await heldNow(at(20))) - heldBefore).toBe(2);
    });

    it('holds every due template of a full portfolio at once, not only those one claim picked', async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 1 });
      const entries = Array.from({ length: 6 }, () =>
        templateEntry(number.phoneNumberId, { at: t0, priority: 1 }),
      );
      const text = textOutboxEntry(number.phoneNumberId, { at: t0, priority: 0 });
      await enqueue(tenant.id, [...entries, text]);
      const heldBefore = await heldNow(at(20));
      const small = async (now: Date) =>
        (
          await expectOk(harness.outboxQueue.claim({ owner: 'w', now, limit: 2, leaseMs, horizonMs: 1000 }))
        ).filter((send) => numbers.includes(send.phoneNumberId));
      // Two picked: one goes, one is held, and with it the four the claim did not reach.
      expect(await small(at(10))).toHaveLength(1);
      expect((await heldNow(at(20))) - heldBefore).toBe(5);
      expect((await small(at(30))).map((send) => send.id)).toEqual([text.id]);
    });

    it('releases held messages at once when the limit is raised', async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 1 });
      await enqueue(tenant.id, [
        templateEntry(number.phoneNumberId, { at: t0 }),
        templateEntry(number.phoneNumberId, { at: t0 }),
        templateEntry(number.phoneNumberId, { at: t0 }),
      ]);
      await sendAll(await claim(at(10)));
      expect(await claim(at(20))).toEqual([]);
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 2 });
      expect(await claim(at(30))).toHaveLength(1);
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 'unlimited' });
      expect(await claim(at(40))).toHaveLength(1);
    });

    it('holds nothing while no limit is known', async () => {
      const { tenant, number } = await seed();
      const entries = Array.from({ length: 5 }, () => templateEntry(number.phoneNumberId, { at: t0 }));
      await enqueue(tenant.id, entries);
      expect(await claim(at(10))).toHaveLength(5);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.outbox.messagingLimitRoom(number.phoneNumberId, { phone: fixturePhone() }, at(20)),
          ),
        ),
      ).toBeUndefined();
    });

    it('holds past the limit on the lease of messages just queued, as on a claim', async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { messagingLimit: 1 });
      const entries = [
        templateEntry(number.phoneNumberId, { at: t0 }),
        templateEntry(number.phoneNumberId, { at: t0 }),
      ];
      await enqueue(tenant.id, entries);
      const heldBefore = await heldNow(at(20));
      const leased = await expectOk(
        harness.outboxQueue.lease({ ids: ids(entries), owner: 'w', now: at(10), leaseMs, horizonMs: 1000 }),
      );
      expect(leased).toHaveLength(1);
      expect((await heldNow(at(20))) - heldBefore).toBe(1);
    });

    it("paces a flagged number's templates at an eightieth of its rate, and its other messages at its rate", async () => {
      const { tenant, number } = await seed();
      const templates = Array.from({ length: 3 }, () => templateEntry(number.phoneNumberId, { at: t0 }));
      const texts = Array.from({ length: 5 }, () => textOutboxEntry(number.phoneNumberId, { at: t0 }));
      await enqueue(tenant.id, [...templates, ...texts]);
      await report(tenant.id, number.phoneNumberId, { qualityFlagged: true });

      const first = await claim(at(0));
      expect(first.filter((send) => send.message.type === 'template')).toHaveLength(1);
      expect(first.filter((send) => send.message.type === 'text')).toHaveLength(5);
      const businessSpacingMs = slotSpacingMs(number.ratePerSecond) * 80;
      expect(await claim(at(businessSpacingMs / 2))).toEqual([]);
      const second = await claim(at(businessSpacingMs + 200));
      expect(second).toHaveLength(1);
      const firstTemplate = first.find((send) => send.message.type === 'template')!;
      expect(second[0]!.sendAt.getTime() - firstTemplate.sendAt.getTime()).toBeGreaterThanOrEqual(
        businessSpacingMs - 1,
      );

      // Unflagged, the last one goes at the number's own pace.
      await report(tenant.id, number.phoneNumberId, { qualityFlagged: false });
      expect(await claim(at(businessSpacingMs + 210))).toHaveLength(1);
    });

    it("keeps a recipient's later messages behind a template waiting for a flagged number's business slot", async () => {
      const { tenant, number } = await seed();
      await report(tenant.id, number.phoneNumberId, { qualityFlagged: true });
      await enqueue(tenant.id, [templateEntry(number.phoneNumberId, { at: t0 })]);
      expect(await claim(at(0))).toHaveLength(1);

      const waiting = fixturePhone();
      const template = templateEntry(number.phoneNumberId, { to: waiting, at: at(10) });
      const after = textOutboxEntry(number.phoneNumberId, { to: waiting, at: at(11) });
      const elsewhere = textOutboxEntry(number.phoneNumberId, { at: at(12) });
      await enqueue(tenant.id, [template, after, elsewhere]);
      expect(ids(await claim(at(20)))).toEqual([elsewhere.id]);

      const businessSpacingMs = slotSpacingMs(number.ratePerSecond) * 80;
      const slotCame = await claim(at(businessSpacingMs + 200));
      expect(ids(slotCame)).toEqual([template.id]);
      await sendAll(slotCame);
      expect(ids(await claim(at(businessSpacingMs + 210)))).toEqual([after.id]);
    });
  });
};
