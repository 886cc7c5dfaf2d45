import { type Clock, DatabaseClock } from '@prestabot/application';
import { expectOk, seedTenant, textOutboxEntry } from '@prestabot/application/testing';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

/** A machine's clock, `offsetMs` off the true time. */
const skewed = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

describeOnEachDriver('Two workers whose clocks are 40 s apart', (context) => {
  it("never take each other's leased sends: every message is handed out once", async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const [behind, ahead] = [-20_000, 20_000].map(
      (offsetMs) => new DatabaseClock(skewed(offsetMs), () => storage.databaseTime()),
    );
    await expectOk(behind!.sync());
    await expectOk(ahead!.sync());
    const entries = Array.from({ length: 10 }, () =>
      textOutboxEntry(number.phoneNumberId, { at: new Date(behind!.now().getTime() - 1000) }),
    );
    await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(entries)));
    const claim = (owner: string, clock: Clock) =>
      expectOk(
        storage.outboxQueue.claim({ owner, limit: 100, leaseMs: 30_000, now: clock.now(), horizonMs: 1000 }),
      ).then((sends) => sends.filter((send) => send.phoneNumberId === number.phoneNumberId));
    const first = await claim('behind', behind!);
    expect(first.map((send) => send.id).sort()).toEqual(entries.map((entry) => entry.id).sort());
    // The one whose clock is 40 s ahead sees the leases as the database does: still held.
    expect(await claim('ahead', ahead!)).toEqual([]);
  });
});
