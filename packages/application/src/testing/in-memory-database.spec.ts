import { errAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  expectErr,
  expectOk,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from './contracts/storage-harness.ts';
import { InMemoryDatabase } from './in-memory-database.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');

const harnessOf = (database: InMemoryDatabase) => database.harness();

// The contract suites check that inserts roll back; rows the in-memory store changes in place need their own check.
describe('InMemoryDatabase units of work', () => {
  const heldSetup = async () => {
    const database = new InMemoryDatabase();
    const { tenant, number } = await seedTenant(harnessOf(database));
    const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
    await storeInInbox(database.inboxQueue, [entry]);
    const [held] = await expectOk(
      database.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 30_000, now: t0 }),
    );
    return { database, tenant, number, held: held! };
  };

  it('puts rows changed in place back when the work returns an error', async () => {
    const { database, tenant, number, held } = await heldSetup();
    await expectErr(
      database.unitOfWork.run(tenant.id, (r) =>
        r.inbox
          .complete([held], t0)
          .andThen(() => r.numbers.replaceToken(number.phoneNumberId, { kind: 'empty' }))
          .andThen(() => errAsync({ type: 'changed_my_mind' as const })),
      ),
    );
    const numbers = await expectOk(database.unitOfWork.run(tenant.id, (r) => r.numbers.list()));
    expect(numbers[0]?.tokenStatus.kind).toBe('set');
    // The lease survived the rollback too: the entry can still be completed under it.
    expect(await expectOk(database.unitOfWork.run(tenant.id, (r) => r.inbox.complete([held], t0)))).toBe(
      true,
    );
  });

  it('puts rows changed in place back when the work throws', async () => {
    const { database, tenant, held } = await heldSetup();
    await expect(
      database.unitOfWork.run(tenant.id, (r) =>
        r.inbox.release(held.id, held.lease, new Date(t0.getTime() + 60_000), 'x').map(() => {
          throw new Error('bug');
        }),
      ),
    ).rejects.toThrow('bug');
    expect(await expectOk(database.unitOfWork.run(tenant.id, (r) => r.inbox.complete([held], t0)))).toBe(
      true,
    );
  });

  it('puts back what a write stored done when its process throws, as PostgreSQL undoes the store', async () => {
    const database = new InMemoryDatabase();
    const { number } = await seedTenant(harnessOf(database));
    const entry = textInboxEntry(number.phoneNumberId, { sentAt: t0 });
    const writing = database.inboxQueue.storeAndProcess(
      {
        entries: [entry],
        now: t0,
        followUps: { origins: [], statuses: [] },
        lease: { owner: 'h', leaseMs: 30_000 },
        answering: [entry.id],
      },
      () => Promise.reject(new Error('a bug in process')),
    );
    await expect(Promise.resolve(writing)).rejects.toThrow('a bug in process');
    const later = new Date(t0.getTime() + 31_000);
    const claimed = await expectOk(
      database.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 30_000, now: later, ids: [entry.id] }),
    );
    expect(claimed.map((held) => held.id)).toEqual([entry.id]);
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
