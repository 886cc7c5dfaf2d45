import { describe, expect, it } from 'vitest';
import {
  answerDeadline,
  leaseSafetyMs,
  maxSlotMisses,
  outcomeRecordingMs,
  sendDeadline,
  slotToleranceMs,
} from './send-pacing.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const lease = { until: at(30_000) };

describe('sendDeadline', () => {
  it('is the slot plus its tolerance while the message has missed fewer than maxSlotMisses slots', () => {
    expect(sendDeadline({ sendAt: at(13), lease, slotMisses: 0 })).toEqual(at(13 + slotToleranceMs));
    expect(sendDeadline({ sendAt: at(13), lease, slotMisses: maxSlotMisses - 1 })).toEqual(
      at(13 + slotToleranceMs),
    );
  });

  it('lets a message that missed maxSlotMisses slots go late, but never near the end of its lease', () => {
    expect(sendDeadline({ sendAt: at(13), lease, slotMisses: maxSlotMisses })).toEqual(
      at(30_000 - leaseSafetyMs),
    );
  });

  it('keeps half of a short lease', () => {
    const short = { until: at(2000) };
    expect(sendDeadline({ sendAt: at(0), lease: short, slotMisses: maxSlotMisses })).toEqual(at(1000));
    expect(sendDeadline({ sendAt: at(0), lease: short, slotMisses: 0 })).toEqual(at(slotToleranceMs));
  });
});

describe('answerDeadline', () => {
  it("leaves outcomeRecordingMs of the lease to record Graph's answer", () => {
    expect(answerDeadline({ sendAt: at(13), lease })).toEqual(at(30_000 - outcomeRecordingMs));
  });

  it('keeps a quarter of a short lease, after the latest moment the send may leave', () => {
    const short = { until: at(1500) };
    const answerBy = answerDeadline({ sendAt: at(0), lease: short });
    expect(answerBy).toEqual(at(1125));
    expect(answerBy.getTime()).toBeGreaterThan(
      sendDeadline({ sendAt: at(0), lease: short, slotMisses: maxSlotMisses }).getTime(),
    );
  });
});
