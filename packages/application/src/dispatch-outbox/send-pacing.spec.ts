import { describe, expect, it } from 'vitest';
import { maxSlotMisses, sendDeadline, slotToleranceMs } from './send-pacing.ts';

const claimedAt = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(claimedAt.getTime() + ms);

describe('sendDeadline', () => {
  it('gives a packed slot its tolerance and a slot placed at the claim none', () => {
    expect(sendDeadline({ sendAt: at(13), claimedAt, slotMisses: 0 })).toEqual(at(13 + slotToleranceMs));
    expect(sendDeadline({ sendAt: at(0), claimedAt, slotMisses: 0 })).toBeUndefined();
    // Rounded up to the millisecond, a slot placed "now" can land 1 ms after the claim.
    expect(sendDeadline({ sendAt: at(1), claimedAt, slotMisses: 0 })).toBeUndefined();
    expect(sendDeadline({ sendAt: at(2), claimedAt, slotMisses: 0 })).toEqual(at(2 + slotToleranceMs));
  });

  it('lets a message that missed its slot maxSlotMisses times go without one', () => {
    expect(sendDeadline({ sendAt: at(13), claimedAt, slotMisses: maxSlotMisses - 1 })).toBeDefined();
    expect(sendDeadline({ sendAt: at(13), claimedAt, slotMisses: maxSlotMisses })).toBeUndefined();
  });
});
