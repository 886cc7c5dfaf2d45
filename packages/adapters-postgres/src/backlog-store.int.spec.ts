import {
  expectOk,
  fixtureUuid,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import type { E164, Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import type { SqlDriver } from './sql/sql-driver.ts';
import { driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

const backlog = 300;

// A message stored with a lease first asks whether its sender has an earlier entry it must wait behind.
// That question is about one sender; it was planned (once, for any batch) as a hash of every unprocessed
// entry of every tenant, so each message stored while a backlog waited read the whole backlog. Counted
// with the server's statistics of rows read, which PGlite does not keep.
describe.skipIf(serverUrl === undefined)(
  `storing a message behind a backlog on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('reads its own sender’s entries, not the backlog', async () => {
      // One connection, so the statistics read are those of the connection that stored.
      const { storage, driver, release } = await openTestStorage(serverUrl, { poolSize: 1 });
      try {
        const { number } = await seedTenant(storage);
        const waiting = Array.from({ length: backlog }, (_, index) =>
          textInboxEntry(number.phoneNumberId, { waId: `569${String(index).padStart(8, '0')}` }),
        );
        await storeInInbox(storage.inboxQueue, waiting);
        // As autovacuum would have by now: the plans made from here on know the backlog is there.
        await expectOk(driver.query('ANALYZE prestabot.inbox'));

        const before = await rowsRead(driver, 'prestabot.inbox');
        const stored = await storeInInbox(
          storage.inboxQueue,
          [textInboxEntry(number.phoneNumberId, { waId: '56999999999' })],
          { lease: { owner: 'worker-1', leaseMs: 30_000 } },
        );
        const read = (await rowsRead(driver, 'prestabot.inbox')) - before;

        expect(stored).toMatchObject([{ outcome: 'stored', entry: { lease: { owner: 'worker-1' } } }]);
        expect(read).toBeLessThan(backlog / 10);
      } finally {
        await release();
      }
    });

    it('queues, leases and logs a send reading their own keys, not the queue or the log', async () => {
      const { storage, driver, release } = await openTestStorage(serverUrl, { poolSize: 1 });
      try {
        const { tenant, number } = await seedTenant(storage);
        // Each to a person of its own: the lease reads a recipient's earlier messages, and that is its own.
        const queued = Array.from({ length: backlog }, (_, index) =>
          textOutboxEntry(number.phoneNumberId, { to: `+568${String(index).padStart(8, '0')}` as E164 }),
        );
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(queued)));
        await expectOk(
          driver.query(
            `INSERT INTO prestabot.messages (tenant_id, direction, wamid, phone_number_id, type, accepted_at,
               status, status_at, outbox_id, origin)
             SELECT $1, 'outbound', 'wamid.logged' || n, $2, 'text', now(), 'read', now(), gen_random_uuid()::text,
                    '{"kind": "reply"}'
             FROM generate_series(1, $3) AS n`,
            [tenant.id, number.phoneNumberId, backlog],
          ),
        );
        await expectOk(driver.query('ANALYZE prestabot.outbox, prestabot.messages'));

        const reply = textOutboxEntry(number.phoneNumberId);
        const [beforeQueue, beforeLog] = [
          await rowsRead(driver, 'prestabot.outbox'),
          await rowsRead(driver, 'prestabot.messages'),
        ];
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([reply])));
        const [send] = await expectOk(
          storage.outboxQueue.lease({
            ids: [reply.id],
            owner: 'w',
            leaseMs: 30_000,
            now: new Date(),
            horizonMs: 1000,
          }),
        );
        const wamid = `wamid.${fixtureUuid()}` as Wamid;
        expect(
          await expectOk(
            storage.outboxQueue.record([
              { kind: 'sent', id: send!.id, lease: send!.lease, wamid, at: new Date() },
            ]),
          ),
        ).toEqual([true]);

        expect((await rowsRead(driver, 'prestabot.outbox')) - beforeQueue).toBeLessThan(backlog / 10);
        expect((await rowsRead(driver, 'prestabot.messages')) - beforeLog).toBeLessThan(backlog / 10);
      } finally {
        await release();
      }
    });
  },
);

/**
 * Rows of `table` read by any kind of scan (sequential, index, bitmap) so far. Statistics reach the shared
 * counters when a transaction ends, at most once a second unless forced.
 */
const rowsRead = async (driver: SqlDriver, table: string): Promise<number> => {
  await expectOk(driver.query('SELECT pg_stat_force_next_flush()'));
  const [row] = await expectOk(
    driver.query(
      `SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::integer AS read
       FROM pg_stat_all_tables WHERE relid = $1::regclass`,
      [table],
    ),
  );
  return Number(row?.read);
};
