import { placeSendSlots } from '@prestabot/application';
import { expectOk, seedTenant, textOutboxEntry } from '@prestabot/application/testing';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

// The claim places each number's send slots in SQL, and must place them exactly where the application's
// placeSendSlots would: same spacing, same rounding, same horizon, same allowances, same next free moment.

const runs = 300;
const t0 = new Date('2026-03-02T12:00:00.000Z').getTime();

const claimSequence = fc.record({
  ratePerSecond: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 5, 80, 100, 250, 1000)),
  backlog: fc.integer({ min: 1, max: 60 }),
  claims: fc.array(
    fc.record({
      advanceMs: fc.integer({ min: 0, max: 1500 }),
      horizonMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(250, 500, 1000)),
      limit: fc.integer({ min: 1, max: 50 }),
    }),
    { minLength: 1, maxLength: 5 },
  ),
});

describeOnEachDriver('outbox pacing', (context) => {
  it(`places slots exactly as placeSendSlots does, over ${runs} random claim sequences`, async () => {
    const { storage, driver } = context();
    await fc.assert(
      fc.asyncProperty(claimSequence, async ({ ratePerSecond, backlog, claims }) => {
        const { tenant, number } = await seedTenant(storage, {}, { ratePerSecond });
        const start = new Date(t0);
        const entries = Array.from({ length: backlog }, () =>
          textOutboxEntry(number.phoneNumberId, { at: start }),
        );
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(entries)));
        let nextFreeAt: Date | undefined;
        let remaining = backlog;
        let now = t0;
        for (const { advanceMs, horizonMs, limit } of claims) {
          now += advanceMs;
          const claimed = (
            await expectOk(
              storage.outboxQueue.claim({
                owner: 'w',
                limit,
                leaseMs: 3_600_000,
                now: new Date(now),
                horizonMs,
              }),
            )
          ).filter((send) => send.phoneNumberId === number.phoneNumberId);
          const expected = placeSendSlots({
            nextFreeAt,
            now: new Date(now),
            ratePerSecond,
            count: Math.min(limit, remaining),
            horizon: new Date(now + horizonMs),
          });
          expect(claimed.map((send) => send.sendAt)).toEqual(expected.slots);
          expect(claimed.map((send) => send.slotAllowanceMs)).toEqual(expected.slotAllowancesMs);
          if (claimed.length > 0) nextFreeAt = expected.nextFreeAt;
          remaining -= claimed.length;
        }
        // Claims serve every number in turn: this run's leftovers must not share the next run's limit.
        await expectOk(
          driver.query("UPDATE prestabot.outbox SET status = 'failed' WHERE phone_number_id = $1", [
            number.phoneNumberId,
          ]),
        );
      }),
      { numRuns: runs },
    );
  }, 600_000);
});
