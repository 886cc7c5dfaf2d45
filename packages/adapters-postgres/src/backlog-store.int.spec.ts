import { expectOk, seedTenant, storeInInbox, textInboxEntry } from '@prestabot/application/testing';
import { describe, expect, it } from 'vitest';
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

        // Statistics reach the shared counters when a transaction ends, at most once a second unless forced.
        const inboxRowsRead = async () => {
          await expectOk(driver.query('SELECT pg_stat_force_next_flush()'));
          // Rows read by any kind of scan: sequential, index, bitmap.
          const [row] = await expectOk(
            driver.query(
              `SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::integer AS read
               FROM pg_stat_all_tables WHERE relid = 'prestabot.inbox'::regclass`,
            ),
          );
          return Number(row?.read);
        };
        const before = await inboxRowsRead();
        const stored = await storeInInbox(
          storage.inboxQueue,
          [textInboxEntry(number.phoneNumberId, { waId: '56999999999' })],
          { lease: { owner: 'worker-1', leaseMs: 30_000 } },
        );
        const read = (await inboxRowsRead()) - before;

        expect(stored).toMatchObject([{ outcome: 'stored', entry: { lease: { owner: 'worker-1' } } }]);
        expect(read).toBeLessThan(backlog / 10);
      } finally {
        await release();
      }
    });
  },
);
