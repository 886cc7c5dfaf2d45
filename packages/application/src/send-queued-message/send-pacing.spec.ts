import { describe, expect, it } from 'vitest';
import {
  answerDeadline,
  idleSlotAllowanceMs,
  leaseSafetyMs,
  maxSlotMisses,
  outcomeRecordingMs,
  placeSendSlots,
  placeSends,
  sendDeadline,
  slotSpacingMs,
  slotToleranceMs,
} from './send-pacing.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const lease = { until: at(30_000) };

describe('sendDeadline', () => {
  it('is the slot plus its tolerance while the message has missed fewer than maxSlotMisses slots', () => {
    expect(sendDeadline({ sendAt: at(13), slotAllowanceMs: 0, lease, slotMisses: 0 })).toEqual(
      at(13 + slotToleranceMs),
    );
    expect(
      sendDeadline({ sendAt: at(13), slotAllowanceMs: 0, lease, slotMisses: maxSlotMisses - 1 }),
    ).toEqual(at(13 + slotToleranceMs));
  });

  it("adds the allowance its slot came with to the slot's tolerance", () => {
    expect(sendDeadline({ sendAt: at(13), slotAllowanceMs: 40, lease, slotMisses: 0 })).toEqual(
      at(13 + slotToleranceMs + 40),
    );
  });

  it('lets a message that missed maxSlotMisses slots go late, but never near the end of its lease', () => {
    expect(sendDeadline({ sendAt: at(13), slotAllowanceMs: 0, lease, slotMisses: maxSlotMisses })).toEqual(
      at(30_000 - leaseSafetyMs),
    );
  });

  it('keeps half of a short lease', () => {
    const short = { until: at(2000) };
    expect(
      sendDeadline({ sendAt: at(0), slotAllowanceMs: 0, lease: short, slotMisses: maxSlotMisses }),
    ).toEqual(at(1000));
    expect(sendDeadline({ sendAt: at(0), slotAllowanceMs: 0, lease: short, slotMisses: 0 })).toEqual(
      at(slotToleranceMs),
    );
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
      sendDeadline({ sendAt: at(0), slotAllowanceMs: 0, lease: short, slotMisses: maxSlotMisses }).getTime(),
    );
  });
});

describe('placeSendSlots', () => {
  const spacing = slotSpacingMs(80);
  const horizon = at(1000);

  it('gives a send placed alone on an idle number the allowance, and moves the next slot as far', () => {
    for (const nextFreeAt of [undefined, at(-500), at(0)]) {
      const paced = placeSendSlots({ nextFreeAt, now: at(0), ratePerSecond: 80, count: 1, horizon });
      expect(paced.slots).toEqual([at(0)]);
      expect(paced.slotAllowancesMs).toEqual([idleSlotAllowanceMs]);
      expect(paced.nextFreeAt).toEqual(at(Math.ceil(spacing + idleSlotAllowanceMs)));
    }
  });

  it('gives none when the number has a slot ahead, or when more than one send is placed', () => {
    const behind = placeSendSlots({ nextFreeAt: at(5), now: at(0), ratePerSecond: 80, count: 1, horizon });
    expect(behind.slots).toEqual([at(5)]);
    expect(behind.slotAllowancesMs).toEqual([0]);
    expect(behind.nextFreeAt).toEqual(at(Math.ceil(5 + spacing)));

    const two = placeSendSlots({ nextFreeAt: undefined, now: at(0), ratePerSecond: 80, count: 2, horizon });
    expect(two.slotAllowancesMs).toEqual([0, 0]);
    expect(two.nextFreeAt).toEqual(at(Math.ceil(2 * spacing)));
  });

  it("moves a slowed number's next business-initiated slot by the allowance too", () => {
    const placed = placeSends({
      nextFreeAt: undefined,
      now: at(0),
      ratePerSecond: 80,
      horizon,
      sends: ['business'],
      businessPace: { share: 0.5, nextFreeAt: undefined, isBusinessInitiated: () => true },
    });
    expect(placed.placed.map(({ slotAllowanceMs }) => slotAllowanceMs)).toEqual([idleSlotAllowanceMs]);
    expect(placed.businessNextFreeAt).toEqual(at(Math.ceil(spacing / 0.5 + idleSlotAllowanceMs)));
  });
});
