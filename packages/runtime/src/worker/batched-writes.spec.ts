import type { PricedMessage, UsageLedger } from '@prestabot/application';
import { InMemoryDatabase } from '@prestabot/application/testing';
import type { PhoneNumberId, Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { groupCommittedPricing } from './batched-writes.ts';

const priced = (wamid: string): PricedMessage => ({
  phoneNumberId: '1001' as PhoneNumberId,
  wamid: wamid as Wamid,
  at: new Date('2026-03-02T12:00:00Z'),
  pricing: { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' },
});

describe('groupCommittedPricing', () => {
  it('records the pricing of webhooks that arrive together in one write, and skips empty ones', async () => {
    const ledger = new InMemoryDatabase().usageLedger;
    const writes: number[] = [];
    const counted: UsageLedger = {
      record: (messages) => {
        writes.push(messages.length);
        return ledger.record(messages);
      },
      usage: (query) => ledger.usage(query),
    };
    const pricing = groupCommittedPricing(counted);
    const results = await Promise.all([
      pricing.record([priced('wamid.a'), priced('wamid.b')]),
      pricing.record([priced('wamid.c')]),
      pricing.record([]),
    ]);
    expect(results.every((result) => result.isOk())).toBe(true);
    expect(writes).toEqual([3]);
  });
});
