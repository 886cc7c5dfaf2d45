import {
  expectOk,
  InMemoryDatabase,
  ManualClock,
  ManualTimers,
  RecordingLogger,
  seedTenant,
  storeInInbox,
  textInboxEntry,
} from '@prestabot/application/testing';
import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from './lease-keeper.ts';

const leaseMs = 6000;
const maxHoldMs = 60_000;

const setup = async () => {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const database = new InMemoryDatabase();
  const logger = new RecordingLogger();
  const renewals: number[] = [];
  const leaseRenewal = database.harness().leaseRenewal;
  const keeper = new LeaseKeeper(
    {
      leaseRenewal: {
        renew: (request) => {
          renewals.push(request.ids.length);
          return leaseRenewal.renew(request);
        },
      },
      clock,
      logger,
      timers,
    },
    { owner: 'w', leaseMs, maxHoldMs },
  );
  const { number } = await seedTenant(database.harness());
  /** Entries stored as a webhook does, leased to this process. */
  const stored = async (count: number) => {
    const entries = Array.from({ length: count }, (_, index) =>
      textInboxEntry(number.phoneNumberId, { waId: `5690000${index.toString().padStart(4, '0')}` }),
    );
    await storeInInbox(database.inboxQueue, entries, { lease: { owner: 'w', leaseMs }, now: clock.now() });
    return entries.map((entry) => entry.id);
  };
  /** What another worker's claim takes now. */
  const takenElsewhere = async () =>
    (
      await expectOk(database.inboxQueue.claim({ owner: 'other', limit: 100, leaseMs, now: clock.now() }))
    ).map((entry) => entry.id);
  return { clock, timers, database, logger, renewals, keeper, stored, takenElsewhere };
};

describe('LeaseKeeper', () => {
  it('renews every lease it holds, a third of a lease apart, in one call per queue, until released', async () => {
    const { timers, keeper, stored, takenElsewhere, renewals } = await setup();
    const ids = await stored(3);
    keeper.hold('inbox', ids);
    await timers.runFor(5 * leaseMs);
    expect(await takenElsewhere()).toEqual([]);
    expect(renewals.length).toBeGreaterThanOrEqual(14);
    expect(renewals.every((count) => count === 3)).toBe(true);

    keeper.release('inbox', ids);
    const calls = renewals.length;
    await timers.runFor(leaseMs);
    expect(renewals.length).toBe(calls);
    expect((await takenElsewhere()).toSorted()).toEqual(ids.toSorted());
  });

  it('stops renewing what it has held past the cap, so a hung job is still handed on', async () => {
    const { timers, keeper, stored, takenElsewhere, logger } = await setup();
    const [hung] = await stored(1);
    keeper.hold('inbox', [hung!]);
    await timers.runFor(maxHoldMs - leaseMs);
    expect(await takenElsewhere()).toEqual([]);
    await timers.runFor(leaseMs + leaseMs);
    expect(await takenElsewhere()).toEqual([hung]);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ queue: 'inbox', ids: [hung] }),
      }),
    );
  });

  it('keeps trying while the database is away, and stops asking for a lease that was not renewed', async () => {
    const { timers, keeper, stored, takenElsewhere, database, renewals, logger } = await setup();
    const [finished, kept] = await stored(2);
    keeper.hold('inbox', [finished!, kept!]);
    database.setUnavailable(true);
    await timers.runFor(leaseMs / 2);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error' }));
    database.setUnavailable(false);
    await timers.runFor(leaseMs);
    expect(await takenElsewhere()).toEqual([]);
    // Finished by other means: its row no longer has a lease to renew, and the keeper lets it go.
    const { tenantId, lease } = database.inboxEntry(finished!)!;
    await expectOk(
      database.unitOfWork.run(tenantId, (r) =>
        r.inbox.complete([{ id: finished!, lease: lease! }], new Date()),
      ),
    );
    await timers.runFor(leaseMs);
    renewals.length = 0;
    await timers.runFor(leaseMs);
    expect(renewals.length).toBeGreaterThan(0);
    expect(renewals.every((count) => count === 1)).toBe(true);
  });
});
