import { expectOk, seedTenant, textOutboxEntry } from '@prestabot/application/testing';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

describeOnEachDriver(
  'warming up connections before serving',
  (context, driver) => {
    it('warms each pooled connection (PGlite its one) and leaves every queue as it was', async () => {
      const { storage } = context();
      const { tenant, number } = await seedTenant(storage);
      const waiting = textOutboxEntry(number.phoneNumberId, { at: new Date() });
      await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([waiting])));

      expect(await expectOk(storage.warmUp())).toBe(driver.name === 'PGlite' ? 1 : 3);

      // Nothing was claimed, leased or paced: the message is still the next claim's, at once.
      const now = new Date();
      const claimed = await expectOk(
        storage.outboxQueue.claim({ owner: 'worker', limit: 10, leaseMs: 30_000, now, horizonMs: 1000 }),
      );
      expect(claimed.map((send) => send.id)).toEqual([waiting.id]);
      expect(claimed[0]?.sendAt.getTime()).toBe(now.getTime());
    });
  },
  { poolSize: 3 },
);
