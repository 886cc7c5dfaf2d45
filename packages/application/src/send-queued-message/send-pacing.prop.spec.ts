import fc from 'fast-check';
import { expect, it } from 'vitest';
import { placeSendSlots, sendDeadline, slotSpacingMs, slotToleranceMs } from './send-pacing.ts';

// Whatever the claims and leases one number's slots come from, and however late within its deadline each
// send leaves, the sends keep the number's rate: they could have left on time at slots spaced as the pace
// spaces them (each at most `slotToleranceMs` before it really left), and no one-second window holds more
// than the rate.

const t0 = new Date('2026-03-02T12:00:00.000Z').getTime();
const lease = { until: new Date(t0 + 3_600_000) };

const placements = fc.record({
  ratePerSecond: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 5, 34, 80, 100, 1000)),
  calls: fc.array(
    fc.record({
      // Often within a send's allowance of the one before, where a lone send's lateness could matter.
      advanceMs: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 1500 })),
      count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 })),
      horizonMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(1000)),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  // How far into its deadline each send leaves: on the dot, at the last moment, or anywhere between.
  lateness: fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })), {
    minLength: 1,
    maxLength: 50,
  }),
});

it('keeps the rate however late within its deadline each send leaves', () => {
  fc.assert(
    fc.property(placements, ({ ratePerSecond, calls, lateness }) => {
      let now = t0;
      let nextFreeAt: Date | undefined;
      const departures: number[] = [];
      for (const { advanceMs, count, horizonMs } of calls) {
        now += advanceMs;
        const paced = placeSendSlots({
          nextFreeAt,
          now: new Date(now),
          ratePerSecond,
          count,
          horizon: new Date(now + horizonMs),
        });
        nextFreeAt = paced.nextFreeAt;
        paced.slots.forEach((sendAt, index) => {
          const slotAllowanceMs = paced.slotAllowancesMs[index]!;
          const deadline = sendDeadline({ sendAt, slotAllowanceMs, lease, slotMisses: 0 }).getTime();
          const share = lateness[departures.length % lateness.length]!;
          departures.push(sendAt.getTime() + share * (deadline - sendAt.getTime()));
        });
      }
      departures.sort((a, b) => a - b);

      // Slots are whole milliseconds rounded up, so two may stand a millisecond closer than the spacing.
      const spacing = slotSpacingMs(ratePerSecond) - 1;
      let onTimeSlot = Number.NEGATIVE_INFINITY;
      for (const departure of departures) {
        onTimeSlot = Math.max(departure - slotToleranceMs, onTimeSlot + spacing);
        expect(onTimeSlot).toBeLessThanOrEqual(departure);
      }

      let windowStart = 0;
      departures.forEach((departure, index) => {
        while (departures[windowStart]! <= departure - 1000) windowStart += 1;
        expect(index - windowStart + 1).toBeLessThanOrEqual(ratePerSecond);
      });
    }),
    { numRuns: 2000 },
  );
});
