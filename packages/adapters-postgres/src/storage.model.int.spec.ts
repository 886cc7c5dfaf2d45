import {
  expectOk,
  fixtureNumber,
  InMemoryDatabase,
  type StorageHarness,
  seedTenant,
} from '@prestabot/application/testing';
import type { PhoneNumberId, TenantId, WebhookDeliveryStatus } from '@prestabot/domain';
import fc from 'fast-check';
import { it } from 'vitest';
import {
  type ModelNumber,
  type ModelWorld,
  recipientPhones,
  type Sides,
  StorageModel,
} from './storage-model.fixture.ts';
import {
  advance,
  applyStatuses,
  claim,
  day,
  enqueue,
  lease,
  type NewMessage,
  type Outcome,
  type OutcomeKind,
  observe,
  pastEveryLease,
  prune,
  recordOutcomes,
  second,
  storeStatus,
} from './storage-model-commands.fixture.ts';
import { describeOnEachDriver } from './testing/each-driver.ts';

// Random sequences of outbox, status and retention calls, run on the in-memory database and on PGlite (and
// PostgreSQL, when TEST_DATABASE_URL is set) side by side: every answer the ports give must be the same on
// both, and keep the ports' promises. One database serves every run, emptied in between (claims and prunes
// cross tenants: a run must see only its own rows).

/** STORAGE_MODEL_RUNS=5000 for a deeper run than CI's. */
const runs = Number(process.env.STORAGE_MODEL_RUNS ?? 200);
const start = new Date('2025-03-02T12:00:00.000Z');

/** Tenants (one to three), each with one or two numbers, at rates low enough for pacing to bite. */
const worldShape = fc.array(fc.array(fc.constantFrom(1, 2, 5, 80), { minLength: 1, maxLength: 2 }), {
  minLength: 1,
  maxLength: 3,
});

const newMessage: fc.Arbitrary<NewMessage> = fc.record({
  number: fc.nat(3),
  recipient: fc.nat(recipientPhones.length - 1),
  priority: fc.nat(2),
  delayMs: fc.oneof(fc.constant(0), fc.constantFrom(1, 400, 2500), fc.nat(5000)),
  key: fc.nat(7),
  shuffle: fc.nat(),
});

const outcome: fc.Arbitrary<Outcome> = fc.record({
  send: fc.nat(),
  kind: fc.constantFrom<OutcomeKind>('sent', 'failed', 'retry', 'hold', 'requeue'),
  delayMs: fc.constantFrom(0, 1500, 20_000),
  stale: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/**
 * The calls, weighted towards claims and outcomes so queues both fill and drain; sequences of any length up
 * to the most (fast-check's default size keeps most of them to a call or two, which claims nothing).
 */
const storageCommands = fc.commands(
  [
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.nat(2), fc.array(newMessage, { minLength: 1, maxLength: 4 }))
          .map(([tenant, messages]) => enqueue(tenant, messages)),
      },
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.integer({ min: 1, max: 6 }),
            fc.constantFrom(0, 200, 1000, 2000),
            fc.constantFrom('worker-a', 'worker-b'),
            fc.constantFrom(10 * second, 30 * second),
          )
          .map(([limit, horizonMs, owner, leaseMs]) => claim(limit, horizonMs, owner, leaseMs)),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 1000))
          .map(([picks, horizonMs]) => lease(picks, horizonMs)),
      },
      {
        weight: 4,
        arbitrary: fc
          .array(outcome, { minLength: 1, maxLength: 4 })
          .map((outcomes) => recordOutcomes(outcomes)),
      },
      {
        weight: 3,
        arbitrary: fc
          .oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(pastEveryLease), fc.constant(8 * day))
          .map((ms) => advance(ms)),
      },
      { weight: 1, arbitrary: fc.constantFrom(1, 2, 1000).map((limit) => prune(limit)) },
      {
        weight: 2,
        arbitrary: fc
          .record({
            message: fc.nat(),
            status: fc.constantFrom<WebhookDeliveryStatus>('sent', 'delivered', 'read', 'failed'),
            namesTheSend: fc.boolean(),
            viaOtherTenant: fc.boolean(),
            shuffle: fc.nat(),
          })
          .map(storeStatus),
      },
      { weight: 1, arbitrary: fc.constant(applyStatuses) },
      { weight: 1, arbitrary: fc.constant(observe) },
    ),
  ],
  { maxCommands: 30, size: 'max' },
);

/** Ids of one length, so SQL and JavaScript order them alike; the same each run, as every run starts empty. */
const worldOf = (rates: readonly (readonly number[])[]): ModelWorld => {
  const tenantIds = rates.map((_, tenant) => `00000000-0000-4000-a000-00000000000${tenant}` as TenantId);
  const numbers = rates.flatMap((numberRates, tenant) =>
    numberRates.map((ratePerSecond, number) => ({
      tenantId: tenantIds[tenant]!,
      phoneNumberId: `70000000${tenant}${number}` as PhoneNumberId,
      ratePerSecond,
    })),
  );
  return { tenantIds, numbers };
};

/** Stores the world's tenants and numbers; each number's token is its own, alike on both sides. */
const seed = async (harness: StorageHarness, world: ModelWorld): Promise<void> => {
  const stored = ({ phoneNumberId, ratePerSecond }: ModelNumber) =>
    fixtureNumber({
      phoneNumberId,
      ratePerSecond,
      token: { kind: 'sealed', sealed: { keyId: 'k1', ciphertext: phoneNumberId }, length: 180 },
    });
  for (const tenantId of world.tenantIds) {
    const [first, ...others] = world.numbers.filter((number) => number.tenantId === tenantId);
    await seedTenant(harness, { id: tenantId }, stored(first!));
    for (const number of others)
      await expectOk(harness.unitOfWork.run(tenantId, (r) => r.numbers.add(stored(number))));
  }
};

/** Every table of the schema but the migrations' ledger: what a run must find empty. */
const tablesSql = `
SELECT string_agg(format('prestabot.%I', tablename), ', ') AS tables
FROM pg_tables WHERE schemaname = 'prestabot' AND tablename <> 'prestabot_schema_migrations'`;

describeOnEachDriver('storage model', (context, driver) => {
  it(`gives the same answers on the in-memory database and ${driver.name}, over ${runs} random sequences`, async () => {
    const { storage, driver: sql } = context();
    const [{ tables }] = (await expectOk(sql.query(tablesSql))) as [{ tables: string }];
    await fc.assert(
      fc.asyncProperty(worldShape, storageCommands, async (rates, commands) => {
        await expectOk(sql.query(`TRUNCATE ${tables} CASCADE`));
        const world = worldOf(rates);
        const sides: Sides = {
          memory: new InMemoryDatabase().harness(),
          postgres: { ...storage, close: async () => {} },
        };
        await seed(sides.memory, world);
        await seed(sides.postgres, world);
        const model = new StorageModel(world, start);
        await fc.asyncModelRun(() => ({ model, real: sides }), commands);
        await observe.run(model, sides);
      }),
      { numRuns: runs },
    );
  }, 600_000);
});
