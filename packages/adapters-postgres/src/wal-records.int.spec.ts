import {
  expectOk,
  fixtureUuid,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import type { Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

const t0 = new Date('2026-03-02T12:00:00.000Z');
const leaseMs = 6000;

type WalRecord = { readonly relation: string; readonly record_type: string };

/**
 * The kinds of heap record a reply's path writes, read back from the WAL by pg_walinspect (PostgreSQL's
 * own, a superuser's): what a message costs in the log is decided by them, not only by its rows' sizes.
 */
describe.skipIf(serverUrl === undefined)(
  `the WAL a reply writes on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('stores its message and logs its send without speculative inserts, and moves its lane and leases its reply without a lock', async () => {
      const { storage, driver, release } = await openTestStorage(serverUrl);
      try {
        await expectOk(driver.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect'));
        const { tenant, number } = await seedTenant(storage);
        const walPosition = async () =>
          (await expectOk(driver.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')))[0]?.lsn as string;
        const recordsSince = async (start: string) =>
          (await expectOk(
            driver.query(
              `SELECT c.relname AS relation, w.record_type
               FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn()) w
               JOIN pg_class c ON w.block_ref ~ ('rel [0-9]+/' ||
                 (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' || c.relfilenode || ' ')
               WHERE w.resource_manager IN ('Heap', 'Btree') AND c.relnamespace = 'prestabot'::regnamespace`,
              [start],
            ),
          )) as WalRecord[];
        const kindsIn = (written: readonly WalRecord[], relation: string) =>
          [
            ...new Set(
              written
                .filter((record) => record.relation === relation)
                .map((record) => record.record_type.replace('+INIT', '')),
            ),
          ].sort();
        /** A reply's path; what its queueing and leasing wrote, on their own. */
        const reply = async (at: Date): Promise<readonly WalRecord[]> => {
          const message = textInboxEntry(number.phoneNumberId, { sentAt: at });
          const redelivery = { ...message, id: fixtureUuid() };
          const stored = await storeInInbox(storage.inboxQueue, [message, redelivery]);
          expect(stored.map(({ outcome }) => outcome)).toEqual(['stored', 'duplicate']);
          // A reply has no idempotency key (its entry's completion is once).
          const entry = textOutboxEntry(number.phoneNumberId, { at, key: null });
          const queueing = await walPosition();
          // Queued and leased in one unit of work, as a reply is while its message is answered.
          const [send] = await expectOk(
            storage.unitOfWork.run(tenant.id, (r) =>
              r.outbox
                .enqueue([entry])
                .andThen(() =>
                  r.outbox.lease({ ids: [entry.id], owner: 'w', leaseMs, now: at, horizonMs: 1000 }),
                ),
            ),
          );
          expect(send?.id).toBe(entry.id);
          const queued = await recordsSince(queueing);
          const wamid = `wamid.${fixtureUuid()}` as Wamid;
          await expectOk(
            storage.outboxQueue.record([{ kind: 'sent', id: send!.id, lease: send!.lease, wamid, at }]),
          );
          return queued;
        };
        // The number's first reply creates its pacing row.
        await reply(t0);

        const start = await walPosition();
        const queued = await reply(new Date(t0.getTime() + 60_000));
        const written = await recordsSince(start);

        // Inserted plainly, with no entry in the idempotency keys' index (0048), then given its slot; never
        // locked, as no other transaction can see it (0047).
        expect(kindsIn(queued, 'outbox')).toEqual(['HOT_UPDATE', 'INSERT']);
        expect(kindsIn(written, 'outbox_idempotency_digest')).toEqual([]);
        // Once sent, deleted rather than written again as sent (0049); the lock is the recording's.
        expect(kindsIn(written, 'outbox')).toEqual(['DELETE', 'HOT_UPDATE', 'INSERT', 'LOCK']);
        // The lane is moved by its update alone, under an advisory lock (0044).
        expect(kindsIn(written, 'number_send_pacing')).toEqual(['HOT_UPDATE']);
        // Inserted plainly, never confirmed (0045).
        expect(kindsIn(written, 'messages')).toEqual(['INSERT']);
        // The message stored once, its redelivery in the same batch found (0046).
        expect(kindsIn(written, 'inbox')).toEqual(['INSERT']);
      } finally {
        await release();
      }
    });
  },
);
