import type { ClaimedSend } from '@prestabot/application';
import {
  expectOk,
  fixtureNumber,
  fixtureTenant,
  InMemoryDatabase,
  maxInAnySecond,
  type StorageHarness,
  statusInboxEntry,
  storeInInbox,
} from '@prestabot/application/testing';
import type { E164, PhoneNumberId, TenantId, Wamid } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

// The messaging limits under random sequences: templates and free-form messages to a few recipients,
// limits and quality flags changing under them, claims, leases, outcomes, statuses, prunes and days going
// by, run on the in-memory database and on PostgreSQL (PGlite, and a real server when there is one); every
// answer must be the same. It ties the two implementations of holding, releasing and slower business pace
// (TypeScript in testing/in-memory/messaging-limits.ts, PL/pgSQL in migration 0023) to each other.
// `storage.model.int.spec.ts` checks the outbox port's own promises on free-form messages.

const runs = (driver: string) =>
  Number(process.env.MESSAGING_LIMITS_MODEL_RUNS ?? (driver === 'PGlite' ? 150 : 40));

const t0 = Date.parse('2026-03-02T12:00:00.000Z');
const tenants = [
  '10000000-0000-4000-8000-000000000001',
  '10000000-0000-4000-8000-000000000002',
] as TenantId[];
/** Two numbers per tenant, each with its own small rate, so pacing shows within a second. */
const numbers = [
  { tenant: 0, phoneNumberId: '1065403522429001', ratePerSecond: 5 },
  { tenant: 0, phoneNumberId: '1065403522429002', ratePerSecond: 3 },
  { tenant: 1, phoneNumberId: '1065403522429003', ratePerSecond: 4 },
  { tenant: 1, phoneNumberId: '1065403522429004', ratePerSecond: 6 },
] as const;
const recipients = ['+56911110001', '+56911110002', '+56911110003', '+56911110004'] as E164[];

type Command =
  | {
      readonly kind: 'enqueue';
      readonly number: number;
      readonly recipient: number;
      readonly priority: number;
      readonly delayMs: number;
      readonly template: boolean;
      readonly lease: boolean;
    }
  | { readonly kind: 'claim'; readonly limit: number; readonly horizonMs: number }
  | {
      readonly kind: 'record';
      readonly pick: number;
      readonly outcome: 'sent' | 'retry' | 'failed' | 'hold' | 'requeue';
    }
  | { readonly kind: 'advance'; readonly ms: number }
  /** Meta's status webhook for a message ever claimed (its callback data names the outbox id). */
  | { readonly kind: 'status'; readonly pick: number; readonly status: 'sent' | 'delivered' | 'failed' }
  | { readonly kind: 'account'; readonly number: number; readonly limit?: number; readonly flagged?: boolean }
  | { readonly kind: 'prune'; readonly limit: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      number: fc.nat(numbers.length - 1),
      recipient: fc.nat(recipients.length - 1),
      priority: fc.constantFrom(0, 1, 3, 5, 10),
      delayMs: fc.constantFrom(0, 0, 500, 3000),
      template: fc.boolean(),
      lease: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      limit: fc.integer({ min: 1, max: 12 }),
      horizonMs: fc.constantFrom(200, 1000, 2500),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      pick: fc.nat(20),
      outcome: fc.constantFrom('sent', 'sent', 'retry', 'failed', 'hold', 'requeue'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.constantFrom(100, 700, 2000, 40_000, 25 * 60 * 60 * 1000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        kind: fc.constant('account' as const),
        number: fc.nat(numbers.length - 1),
        limit: fc.constantFrom(1, 2, 3),
        flagged: fc.boolean(),
      },
      { requiredKeys: ['kind', 'number'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prune' as const), limit: fc.constantFrom(1, 50) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      pick: fc.nat(20),
      status: fc.constantFrom('sent', 'delivered', 'failed'),
    }),
  },
);

/** What a port answered, in a form both implementations must give alike. */
const observed = (sends: readonly ClaimedSend[]) =>
  sends
    .map((send) => ({
      id: send.id,
      sendAt: send.sendAt.getTime(),
      slotAllowanceMs: send.slotAllowanceMs,
      attempts: send.attempts,
      held: send.limitHeldAt !== undefined,
      message: send.message.type,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

/** One implementation under the sequence: its harness, the clock, and the sends it holds leases for. */
class Subject {
  now = t0;
  readonly claimed: ClaimedSend[] = [];
  readonly everClaimed: ClaimedSend[] = [];
  readonly slots = new Map<string, number[]>();
  #ids = 0;

  readonly harness: StorageHarness;

  constructor(harness: StorageHarness) {
    this.harness = harness;
  }

  async seed(): Promise<void> {
    for (const [index, tenantId] of tenants.entries())
      await expectOk(
        this.harness.unitOfWork.run(tenantId, (r) =>
          r.tenant.create(fixtureTenant({ id: tenantId, name: `Model tenant ${index}` })),
        ),
      );
    for (const number of numbers)
      await expectOk(
        this.harness.unitOfWork.run(tenants[number.tenant]!, (r) =>
          r.numbers.add(
            fixtureNumber({
              phoneNumberId: number.phoneNumberId as PhoneNumberId,
              ratePerSecond: number.ratePerSecond,
              token: {
                kind: 'sealed',
                sealed: { keyId: 'k1', ciphertext: `sealed-${number.phoneNumberId}` },
                length: 180,
              },
            }),
          ),
        ),
      );
  }

  /** Runs one command; what it answers is compared across implementations. */
  async run(step: Command): Promise<unknown> {
    const { harness } = this;
    const now = new Date(this.now);
    switch (step.kind) {
      case 'enqueue': {
        const number = numbers[step.number]!;
        const id = `20000000-0000-4000-8000-${String(++this.#ids).padStart(12, '0')}`;
        const at = new Date(this.now + step.delayMs);
        const entry = {
          id,
          phoneNumberId: number.phoneNumberId as PhoneNumberId,
          recipient: { phone: recipients[step.recipient]! },
          message: step.template
            ? { type: 'template' as const, name: 'loan_reminder', language: 'es_CL', components: [] }
            : { type: 'text' as const, body: 'hola', previewUrl: false },
          origin: { kind: 'notification' as const },
          idempotencyKey: `model:${id}`,
          priority: step.priority,
          notBefore: at,
          createdAt: now,
        };
        const stored = await expectOk(
          harness.unitOfWork.run(tenants[number.tenant]!, (r) => r.outbox.enqueue([entry])),
        );
        if (!step.lease) return stored;
        const leased = await expectOk(
          harness.outboxQueue.lease({ ids: [id], owner: 'model', now, leaseMs: 30_000, horizonMs: 1000 }),
        );
        this.#took(leased);
        return { stored, leased: observed(leased) };
      }
      case 'claim': {
        const sends = await expectOk(
          harness.outboxQueue.claim({
            owner: 'model',
            now,
            limit: step.limit,
            leaseMs: 30_000,
            horizonMs: step.horizonMs,
          }),
        );
        this.#took(sends);
        return observed(sends);
      }
      case 'record': {
        const send = this.claimed.splice(step.pick % Math.max(1, this.claimed.length), 1)[0];
        if (send === undefined) return 'nothing claimed';
        // A millisecond per outcome: a prune takes the earliest finished first, and neither the ports nor
        // the SQL order sends finished at the same moment (PostgreSQL leaves them in the rows' order on disk).
        this.now += 1;
        const finishedAt = new Date(this.now);
        const failure = { reason: step.outcome, code: 131000 };
        const retryAt = new Date(this.now + 1500);
        const record =
          step.outcome === 'sent'
            ? { kind: 'sent' as const, wamid: `wamid.${send.id}` as Wamid, at: finishedAt }
            : step.outcome === 'failed'
              ? { kind: 'failed' as const, at: finishedAt, failure }
              : step.outcome === 'requeue'
                ? { kind: 'requeue' as const }
                : { kind: step.outcome, retryAt, failure };
        return expectOk(harness.outboxQueue.record([{ id: send.id, lease: send.lease, ...record }]));
      }
      case 'advance':
        this.now += step.ms;
        return this.now;
      case 'account':
        return expectOk(
          harness.unitOfWork.run(tenants[numbers[step.number]!.tenant]!, (r) =>
            r.numbers.recordAccountEvent(numbers[step.number]!.phoneNumberId as PhoneNumberId, {
              ...defined({ messagingLimit: step.limit }),
              ...defined({ qualityFlagged: step.flagged }),
            }),
          ),
        );
      case 'status': {
        const send = this.everClaimed[step.pick % Math.max(1, this.everClaimed.length)];
        if (send === undefined) return 'nothing claimed';
        // A millisecond per status too: one naming a send whose answer was never recorded marks it sent at
        // its moment, and a prune must not find it finished at the same moment as a recorded one.
        this.now += 1;
        const at = new Date(this.now);
        const entry = statusInboxEntry(send.phoneNumberId, `wamid.${send.id}` as Wamid, step.status, {
          at,
          callbackData: send.id,
        });
        const stored = await storeInInbox(harness.inboxQueue, [entry], { now: at });
        const after = await expectOk(harness.unitOfWork.run(send.tenantId, (r) => r.outbox.get(send.id)));
        return {
          outcomes: stored.map((row) => row.outcome),
          status: after?.status,
          attempts: after?.attempts,
        };
      }
      case 'prune':
        return expectOk(harness.finishedWorkRetention.pruneFinished(now, step.limit));
    }
  }

  depth() {
    return expectOk(this.harness.outboxQueue.depth(new Date(this.now)));
  }

  /** Kept in id order: the ports promise no order among one claim's sends, and picks must name the same. */
  #took(unordered: readonly ClaimedSend[]): void {
    const sends = [...unordered].sort((a, b) => (a.id < b.id ? -1 : 1));
    this.claimed.push(...sends);
    this.everClaimed.push(...sends);
    for (const send of sends)
      this.slots.set(send.phoneNumberId, [
        ...(this.slots.get(send.phoneNumberId) ?? []),
        send.sendAt.getTime(),
      ]);
  }
}

describeOnEachDriver('the messaging limits model', (context, driver) => {
  it(`answers every random sequence as the in-memory database does (${runs(driver.name)} sequences)`, async () => {
    const { storage, driver: sql } = context();
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
        await expectOk(
          sql.query(
            'TRUNCATE prestabot.tenants, prestabot.inbox, prestabot.outbox, prestabot.messages, prestabot.portfolio_reach, prestabot.portfolio_reach_counts CASCADE',
          ),
        );
        const model = new Subject(new InMemoryDatabase().harness());
        const real = new Subject({ ...storage, close: async () => {} });
        await model.seed();
        await real.seed();
        for (const step of commands) {
          const expected = await model.run(step);
          expect(await real.run(step), JSON.stringify(step)).toEqual(expected);
        }
        expect(await real.depth()).toEqual(await model.depth());
        // Whatever the sequence, no number went over its rate in any second.
        for (const number of numbers)
          expect(
            maxInAnySecond((model.slots.get(number.phoneNumberId) ?? []).map((ms) => new Date(ms))),
          ).toBeLessThanOrEqual(number.ratePerSecond);
      }),
      { numRuns: runs(driver.name) },
    );
  }, 600_000);
});
