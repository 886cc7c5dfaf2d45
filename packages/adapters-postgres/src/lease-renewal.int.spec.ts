import {
  expectOk,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { driversUnderTest, postgresSkipReason, within } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const leaseMs = 6000;

// A lock only another connection can hold: PGlite is a single connection, so this is PostgreSQL's alone.
describe.skipIf(serverUrl === undefined)(
  `the lease heartbeat on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('does not wait for a row another transaction is settling: it keeps it held and renews it next time', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 4 });
      const settling = new pg.Client({ connectionString: opened.databaseUrl });
      await settling.connect();
      try {
        const { storage, driver } = opened;
        const { tenant, number } = await seedTenant(storage);
        const entries = [
          textInboxEntry(number.phoneNumberId, { waId: '56911110001' }),
          textInboxEntry(number.phoneNumberId, { waId: '56911110002' }),
        ];
        await storeInInbox(storage.inboxQueue, entries, { lease: { owner: 'w', leaseMs }, now: t0 });
        const sends = [
          textOutboxEntry(number.phoneNumberId, { at: t0 }),
          textOutboxEntry(number.phoneNumberId, { at: t0 }),
        ];
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(sends)));
        const claimed = await expectOk(
          storage.outboxQueue.claim({ owner: 'w', limit: 10, leaseMs, now: t0, horizonMs: 1000 }),
        );
        expect(claimed.map((send) => send.id).toSorted()).toEqual(sends.map((send) => send.id).toSorted());
        const leaseOf = async (table: 'inbox' | 'outbox', id: string) =>
          (await expectOk(driver.query(`SELECT leased_until FROM prestabot.${table} WHERE id = $1`, [id])))[0]
            ?.leased_until as Date;
        const renew = (queue: 'inbox' | 'outbox', ids: readonly string[], now: Date) =>
          expectOk(storage.leaseRenewal.renew({ queue, owner: 'w', ids, leaseMs, now }));

        const [busyEntry, idleEntry] = entries.map((entry) => entry.id) as [string, string];
        const [busySend, idleSend] = sends.map((send) => send.id) as [string, string];
        const before = { entry: await leaseOf('inbox', busyEntry), send: await leaseOf('outbox', busySend) };
        // Another transaction is settling one row of each queue and has not committed yet.
        await settling.query('BEGIN');
        await settling.query('SELECT 1 FROM prestabot.inbox WHERE id = $1 FOR UPDATE', [busyEntry]);
        await settling.query('SELECT 1 FROM prestabot.outbox WHERE id = $1 FOR UPDATE', [busySend]);

        const renewedEntries = await within(
          renew('inbox', [busyEntry, idleEntry], at(2000)),
          3000,
          'renewal',
        );
        const renewedSends = await within(renew('outbox', [busySend, idleSend], at(2000)), 3000, 'renewal');
        expect(renewedEntries.toSorted()).toEqual([busyEntry, idleEntry].toSorted());
        expect(renewedSends.toSorted()).toEqual([busySend, idleSend].toSorted());
        expect(await leaseOf('inbox', idleEntry)).toEqual(at(2000 + leaseMs));
        expect(await leaseOf('inbox', busyEntry)).toEqual(before.entry);
        expect(await leaseOf('outbox', busySend)).toEqual(before.send);

        // The settling gave up: the rows are still this process's, and the next beat renews them.
        await settling.query('ROLLBACK');
        expect(await renew('inbox', [busyEntry], at(4000))).toEqual([busyEntry]);
        expect(await renew('outbox', [busySend], at(4000))).toEqual([busySend]);
        expect(await leaseOf('inbox', busyEntry)).toEqual(at(4000 + leaseMs));
      } finally {
        await settling.end();
        await opened.release();
      }
    });
  },
);
