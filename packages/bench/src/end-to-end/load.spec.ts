import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSchedule } from './load.ts';

describe('when the load offers each message', () => {
  it('offers the rate from the first message when there is no ramp', () => {
    const schedule = loadSchedule(100, 0);
    expect([0, 9.9, 10, 995].map(schedule.dueBy)).toEqual([1, 1, 2, 100]);
    expect([0, 1, 99].map(schedule.dueAt)).toEqual([0, 10, 990]);
  });

  it('has nothing due before the load starts, ramping or not', () => {
    for (const rampMs of [0, 3000]) expect([-49, -1].map(loadSchedule(100, rampMs).dueBy)).toEqual([0, 0]);
  });

  it('ramps linearly: half the messages of the ramp by its end, then the full rate', () => {
    const schedule = loadSchedule(100, 3000);
    // 150 messages over 3 s (the full rate would have offered 300), a quarter of them in the first half.
    expect(schedule.dueBy(1500)).toBe(38);
    expect(schedule.dueBy(3000)).toBe(151);
    // From then on, 100 a second.
    expect(schedule.dueBy(4000) - schedule.dueBy(3000)).toBe(100);
    expect(schedule.dueAt(150)).toBeCloseTo(3000, 6);
  });

  it('has message i due at the moment the count due passes i, ramping or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (rate, rampMs, index) => {
          const schedule = loadSchedule(rate, rampMs);
          const at = schedule.dueAt(index);
          // Due at `at` (floating point aside), and not a whole microsecond before.
          expect(schedule.dueBy(at + 1e-6)).toBeGreaterThan(index);
          expect(schedule.dueBy(Math.max(0, at - 1e-3))).toBeLessThanOrEqual(at === 0 ? 1 : index);
        },
      ),
    );
  });
});
