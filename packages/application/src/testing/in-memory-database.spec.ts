import { errAsync, type Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { expectErr, expectOk, seedTenant, textOutboxEntry } from './contracts/storage-harness.ts';
import { InMemoryDatabase } from './in-memory-database.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');

const harnessOf = (database: InMemoryDatabase) => database.harness();

// The contract suites check that inserts roll back; rows the in-memory store changes in place need their own check.
describe('InMemoryDatabase units of work', () => {
  const claimedSetup = async () => {
    const database = new InMemoryDatabase();
    const { tenant, number } = await seedTenant(harnessOf(database));
    const entry = textOutboxEntry(number.phoneNumberId, { at: t0 });
    await expectOk(database.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])));
    const [claimed] = await expectOk(
      database.outboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 30_000, now: t0, horizonMs: 1000 }),
    );
    return { database, tenant, number, claimed: claimed! };
  };

  it('puts rows changed in place back when the work returns an error', async () => {
    const { database, tenant, number, claimed } = await claimedSetup();
    await expectErr(
      database.unitOfWork.run(tenant.id, (r) =>
        r.outbox
          .markSent(claimed.id, claimed.lease, 'wamid.x' as Wamid, t0)
          .andThen(() => r.numbers.markTokenInvalid(number.phoneNumberId, 190, t0))
          .andThen(() => errAsync({ type: 'changed_my_mind' as const })),
      ),
    );
    expect(await expectOk(database.unitOfWork.run(tenant.id, (r) => r.outbox.get(claimed.id)))).toMatchObject(
      {
        status: 'pending',
        attempts: 0,
      },
    );
    const numbers = await expectOk(database.unitOfWork.run(tenant.id, (r) => r.numbers.list()));
    expect(numbers[0]?.tokenStatus.kind).toBe('set');
    // The lease survived the rollback too.
    expect(
      await expectOk(
        database.unitOfWork.run(tenant.id, (r) =>
          r.outbox.markSent(claimed.id, claimed.lease, 'wamid.y' as Wamid, t0),
        ),
      ),
    ).toBe(true);
  });

  it('puts rows changed in place back when the work throws', async () => {
    const { database, tenant, claimed } = await claimedSetup();
    await expect(
      database.unitOfWork.run(tenant.id, (r) =>
        r.outbox
          .retryLater(claimed.id, claimed.lease, new Date(t0.getTime() + 60_000), { reason: 'x' })
          .map(() => {
            throw new Error('bug');
          }),
      ),
    ).rejects.toThrow('bug');
    expect(await expectOk(database.unitOfWork.run(tenant.id, (r) => r.outbox.get(claimed.id)))).toMatchObject(
      {
        status: 'pending',
        attempts: 0,
      },
    );
    expect(database.snapshot().outbox.get(claimed.id)?.lease).toEqual(claimed.lease);
  });

  it('claims only what fits before the horizon, however the slot arithmetic rounds', async () => {
    const database = new InMemoryDatabase();
    const { tenant, number } = await seedTenant(harnessOf(database), {}, { ratePerSecond: 200 });
    const entries = Array.from({ length: 600 }, () => textOutboxEntry(number.phoneNumberId, { at: t0 }));
    await expectOk(database.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(entries)));
    for (let step = 0; step < 20; step += 1) {
      const now = new Date(t0.getTime() + step * 500);
      const claimed = await expectOk(
        database.outboxQueue.claim({ owner: 'w', limit: 1000, leaseMs: 30_000, now, horizonMs: 1000 }),
      );
      for (const send of claimed) expect(send.sendAt.getTime()).toBeLessThanOrEqual(now.getTime() + 1000);
    }
  });
});
