import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messagingLimitOfTier, ratePerSecondOfThroughput } from './meta-view.ts';

describe('messagingLimitOfTier', () => {
  it.each([
    ['TIER_250', 250],
    ['TIER_2K', 2000],
    ['TIER_10K', 10_000],
    ['TIER_100K', 100_000],
    ['TIER_UNLIMITED', 'unlimited'],
    [-1, 'unlimited'],
    ['-1', 'unlimited'],
    ['2000', 2000],
    [250, 250],
  ] as const)('reads %s as %s', (tier, limit) => {
    expect(messagingLimitOfTier(tier)._unsafeUnwrap()).toBe(limit);
  });

  it('reads every TIER_n and TIER_nK as n and n × 1000', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
        expect(messagingLimitOfTier(`TIER_${n}`)._unsafeUnwrap()).toBe(n);
        expect(messagingLimitOfTier(`TIER_${n}K`)._unsafeUnwrap()).toBe(n * 1000);
      }),
    );
  });

  it('refuses anything else instead of guessing a limit', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => !/^(TIER_\d+K?|TIER_UNLIMITED|-1|\d+)$/.test(text)),
        (text) => {
          expect(messagingLimitOfTier(text).isErr()).toBe(true);
        },
      ),
    );
    for (const tier of ['TIER_0', 'TIER_0K', '0', 0, -2, 1.5])
      expect(messagingLimitOfTier(tier).isErr()).toBe(true);
  });
});

describe('ratePerSecondOfThroughput', () => {
  it('is 80 for STANDARD, 1000 for HIGH, and leaves the rate alone otherwise', () => {
    expect([ratePerSecondOfThroughput('STANDARD'), ratePerSecondOfThroughput('HIGH')]).toEqual([80, 1000]);
    expect(ratePerSecondOfThroughput('NOT_APPLICABLE')).toBeUndefined();
  });
});
