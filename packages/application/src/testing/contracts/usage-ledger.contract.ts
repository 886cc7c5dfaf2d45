import type { InboundStatus, PhoneNumberId, StatusPricing, TenantId, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PricedMessage } from '../../ports/usage-ledger.port.ts';
import { outboxHelpers } from './outbox-helpers.ts';
import {
  expectOk,
  fixturePhoneNumberId,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  statusInboxEntry,
  textOutboxEntry,
} from './storage-harness.ts';

const march = { from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-04-01T00:00:00Z') };
const utility: StatusPricing = { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' };
const service: StatusPricing = {
  billable: false,
  pricingModel: 'PMP',
  type: 'free_customer_service',
  category: 'service',
};

const priced = (
  phoneNumberId: PhoneNumberId,
  pricing: StatusPricing,
  at = new Date('2026-03-10T12:00:00Z'),
  wamid = `wamid.${fixtureUuid()}` as Wamid,
): PricedMessage => ({ phoneNumberId, wamid, at, pricing });

/** Priced statuses reach the ledger the one way they do in production: stored as webhook items. */
const storeStatuses = (
  harness: StorageHarness,
  messages: readonly PricedMessage[],
  status: InboundStatus['status'] = 'sent',
) =>
  harness.inboxQueue.store({
    entries: messages.map((message) =>
      statusInboxEntry(message.phoneNumberId, message.wamid, status, {
        at: message.at,
        pricing: message.pricing,
      }),
    ),
    now: new Date('2026-03-10T12:00:00Z'),
    followUps: { origins: [], statuses: [] },
  });

/** A reply the bot queued at `at`, leased for sending. */
const leasedReply = async (
  harness: StorageHarness,
  tenantId: TenantId,
  phoneNumberId: PhoneNumberId,
  at: Date,
) => {
  const reply = textOutboxEntry(phoneNumberId, { at });
  await expectOk(harness.unitOfWork.run(tenantId, (r) => r.outbox.enqueue([reply])));
  // Leased by its id: a claim could hand out another test's sends first.
  const [send] = await expectOk(
    harness.outboxQueue.lease({
      ids: [reply.id],
      owner: 'sender',
      now: at,
      leaseMs: 30_000,
      horizonMs: 1000,
    }),
  );
  return send!;
};

export const describeUsageLedgerContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: UsageLedger, fed by InboxQueue.store`, () => {
    let harness: StorageHarness;
    const { sent } = outboxHelpers(() => harness);
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('counts messages by number, category and billable, once each whatever its statuses repeat', async () => {
      const { tenant, number } = await seedTenant(harness);
      const reminder = priced(number.phoneNumberId, utility);
      await expectOk(
        storeStatuses(harness, [
          reminder,
          // `delivered` and `read` repeat the pricing of `sent`; a redelivered webhook repeats it again.
          { ...reminder, at: new Date('2026-03-10T12:00:05Z') },
          priced(number.phoneNumberId, utility),
          priced(number.phoneNumberId, service),
        ]),
      );
      await expectOk(storeStatuses(harness, [reminder]));

      expect(await expectOk(harness.usageLedger.usage({ ...march, tenantId: tenant.id }))).toEqual([
        {
          tenantId: tenant.id,
          phoneNumberId: number.phoneNumberId,
          category: 'service',
          billable: false,
          messages: 1,
        },
        {
          tenantId: tenant.id,
          phoneNumberId: number.phoneNumberId,
          category: 'utility',
          billable: true,
          messages: 2,
        },
      ]);
    });

    it('counts a message it sent once, whatever its statuses repeat, however they arrive', async () => {
      const { tenant, number } = await seedTenant(harness);
      const at = new Date('2026-03-10T12:00:00Z');
      const send = await leasedReply(harness, tenant.id, number.phoneNumberId, at);
      const wamid = `wamid.${fixtureUuid()}` as Wamid;
      expect(await sent(send, wamid, at)).toBe(true);
      const reply = priced(number.phoneNumberId, utility, at, wamid);
      await expectOk(storeStatuses(harness, [reply]));
      await expectOk(
        storeStatuses(harness, [{ ...reply, at: new Date('2026-03-10T12:00:05Z') }], 'delivered'),
      );
      await expectOk(storeStatuses(harness, [reply]));
      expect(await expectOk(harness.usageLedger.usage({ ...march, tenantId: tenant.id }))).toEqual([
        {
          tenantId: tenant.id,
          phoneNumberId: number.phoneNumberId,
          category: 'utility',
          billable: true,
          messages: 1,
        },
      ]);
    });

    it('counts a message priced before its send was recorded once, in the month of its first price', async () => {
      const { tenant, number } = await seedTenant(harness);
      const lastSecondOfMarch = new Date('2026-03-31T23:59:59Z');
      // Graph's answer is recorded after the `sent` status arrived, which found no message to move.
      const send = await leasedReply(harness, tenant.id, number.phoneNumberId, lastSecondOfMarch);
      const wamid = `wamid.${fixtureUuid()}` as Wamid;
      await expectOk(
        storeStatuses(harness, [priced(number.phoneNumberId, utility, lastSecondOfMarch, wamid)]),
      );
      await sent(send, wamid, lastSecondOfMarch);
      // `delivered`, in April, is the first price the message's own record sees.
      const april = { from: march.until, until: new Date('2026-05-01T00:00:00Z') };
      await expectOk(
        storeStatuses(
          harness,
          [priced(number.phoneNumberId, utility, new Date('2026-04-01T00:00:05Z'), wamid)],
          'delivered',
        ),
      );
      expect(await expectOk(harness.usageLedger.usage({ ...march, tenantId: tenant.id }))).toMatchObject([
        { category: 'utility', messages: 1 },
      ]);
      expect(await expectOk(harness.usageLedger.usage({ ...april, tenantId: tenant.id }))).toEqual([]);
    });

    it("counts a message in the month it was priced, and each tenant's messages only under that tenant", async () => {
      const first = await seedTenant(harness);
      const second = await seedTenant(harness);
      const other = await seedTenant(harness, {}, { phoneNumberId: fixturePhoneNumberId() });
      await expectOk(
        storeStatuses(harness, [
          priced(first.number.phoneNumberId, utility, new Date('2026-02-28T23:59:59Z')),
          priced(first.number.phoneNumberId, utility, march.from),
          priced(first.number.phoneNumberId, utility, new Date('2026-03-31T23:59:59Z')),
          priced(first.number.phoneNumberId, utility, march.until),
          priced(second.number.phoneNumberId, service),
          // A number no tenant has: nobody to bill.
          priced(fixturePhoneNumberId(), utility),
        ]),
      );

      const everyone = await expectOk(harness.usageLedger.usage(march));
      const mine = everyone.filter((row) =>
        [first.tenant.id, second.tenant.id, other.tenant.id].includes(row.tenantId),
      );
      expect(mine).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ tenantId: first.tenant.id, category: 'utility', messages: 2 }),
          expect.objectContaining({ tenantId: second.tenant.id, category: 'service', messages: 1 }),
        ]),
      );
      expect(mine).toHaveLength(2);
      expect(await expectOk(harness.usageLedger.usage({ ...march, tenantId: other.tenant.id }))).toEqual([]);
    });
  });
};
