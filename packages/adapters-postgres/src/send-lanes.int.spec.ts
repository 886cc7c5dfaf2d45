import { expectOk, seedTenant, textOutboxEntry } from '@prestabot/application/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { driversUnderTest, postgresSkipReason, within } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

const t0 = new Date('2026-03-02T12:00:00.000Z');
const leaseMs = 6000;

// A lock only another connection can hold: PGlite is a single connection, so this is PostgreSQL's alone.
describe.skipIf(serverUrl === undefined)(
  `a number's send lane on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('is skipped by a claim while another transaction places its slots, not waited for', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 4 });
      const placing = new pg.Client({ connectionString: opened.databaseUrl });
      await placing.connect();
      try {
        const { storage } = opened;
        const { tenant, number } = await seedTenant(storage);
        const sends = [
          textOutboxEntry(number.phoneNumberId, { at: t0 }),
          textOutboxEntry(number.phoneNumberId, { at: t0 }),
        ];
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(sends)));
        const claim = async (now: Date) =>
          (
            await expectOk(storage.outboxQueue.claim({ owner: 'w', limit: 1, leaseMs, now, horizonMs: 1000 }))
          ).map((send) => send.id);
        // The first claim creates the number's lane.
        const [first] = await claim(t0);
        const second = sends.find((send) => send.id !== first)?.id;

        // Another process is placing the number's next slots: it holds the lane and has not committed yet.
        await placing.query('BEGIN');
        await holdLane(placing, number.phoneNumberId);
        expect(await within(claim(new Date(t0.getTime() + 100)), 3000, 'the claim')).toEqual([]);

        // Once it is done, the lane is this claim's again.
        await placing.query('COMMIT');
        expect(await claim(new Date(t0.getTime() + 200))).toEqual([second]);
      } finally {
        await placing.end();
        await opened.release();
      }
    });

    it('is held without a lock written into its pacing row', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 2 });
      const placing = new pg.Client({ connectionString: opened.databaseUrl });
      const other = new pg.Client({ connectionString: opened.databaseUrl });
      await Promise.all([placing.connect(), other.connect()]);
      try {
        const { storage } = opened;
        const { tenant, number } = await seedTenant(storage);
        const send = textOutboxEntry(number.phoneNumberId, { at: t0 });
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([send])));
        // The number's first lease creates its pacing row.
        await expectOk(
          storage.outboxQueue.lease({ ids: [send.id], owner: 'w', leaseMs, now: t0, horizonMs: 1000 }),
        );

        await placing.query('BEGIN');
        await holdLane(placing, number.phoneNumberId);
        // A row lock would be written into the row: a lock NOWAIT by anyone else would then fail (55P03).
        const locked = await other.query(
          'SELECT 1 FROM prestabot.number_send_pacing WHERE phone_number_id = $1 FOR UPDATE NOWAIT',
          [number.phoneNumberId],
        );
        expect(locked.rowCount).toBe(1);
        await placing.query('ROLLBACK');
      } finally {
        await Promise.all([placing.end(), other.end()]);
        await opened.release();
      }
    });
  },
);

describe.skipIf(serverUrl === undefined)(
  `a reply's lease in the transaction that queued it, on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    // It locks nothing (0047): a send it names that another transaction holds is waited for and read again.
    it('takes no send whose outcome another transaction was recording meanwhile', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 2 });
      const recording = new pg.Client({ connectionString: opened.databaseUrl });
      await recording.connect();
      try {
        const { storage } = opened;
        const { tenant, number } = await seedTenant(storage);
        const send = textOutboxEntry(number.phoneNumberId, { at: t0 });
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([send])));
        const [leased] = await expectOk(
          storage.outboxQueue.lease({ ids: [send.id], owner: 'w', leaseMs, now: t0, horizonMs: 1000 }),
        );
        expect(leased?.id).toBe(send.id);

        // Long after its lease ran out, the send is recorded, late, and not committed yet.
        const later = new Date(t0.getTime() + 600_000);
        await recording.query('BEGIN');
        const recorded = await recording.query(
          'SELECT recorded FROM prestabot.record_send_outcomes($1::jsonb)',
          [
            JSON.stringify([
              {
                ordinal: 1,
                id: send.id,
                lease_owner: leased!.lease.owner,
                leased_until: leased!.lease.until,
                kind: 'sent',
                at: later,
                wamid: 'wamid.recorded-late',
              },
            ]),
          ],
        );
        expect(recorded.rows).toEqual([{ recorded: true }]);

        const leasing = expectOk(
          storage.unitOfWork.run(tenant.id, (r) =>
            r.outbox.lease({ ids: [send.id], owner: 'x', leaseMs, now: later, horizonMs: 1000 }),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        await recording.query('COMMIT');

        // Sent once: the lease that read it while it was still pending does not hand it out again.
        expect(await within(leasing, 3000, 'the lease')).toEqual([]);
        const stored = await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.get(send.id)));
        expect(stored).toMatchObject({ status: 'sent', wamid: 'wamid.recorded-late' });
      } finally {
        await recording.end();
        await opened.release();
      }
    });
  },
);

/** What a lease or claim does first: hold the number's send lane until its transaction ends. */
const holdLane = async (client: pg.Client, phoneNumberId: string): Promise<void> => {
  const lanes = await client.query('SELECT phone_number_id FROM prestabot.lock_send_lanes($1, 0, 1)', [
    [phoneNumberId],
  ]);
  expect(lanes.rows).toEqual([{ phone_number_id: phoneNumberId }]);
};
