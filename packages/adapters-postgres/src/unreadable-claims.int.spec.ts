import {
  expectOk,
  fixtureUuid,
  RecordingLogger,
  seedLoan,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from './testing/each-driver.ts';

const logger = new RecordingLogger();
const later = new Date('2030-01-01T00:00:00Z');

/** The log lines about one row. */
const linesAbout = (id: string) => logger.lines.filter((line) => JSON.stringify(line).includes(id));

describeOnEachDriver(
  'A claimed row the reader cannot read',
  (context) => {
    it('does not fail the outbox claim: the readable sends are handed out, the unreadable one fails for good, logged', async () => {
      const { storage, driver } = context();
      const { tenant, number } = await seedTenant(storage);
      const [good, bad] = [textOutboxEntry(number.phoneNumberId), textOutboxEntry(number.phoneNumberId)];
      await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([good!, bad!])));
      await expectOk(
        driver.query(`UPDATE prestabot.outbox SET message = '{"type": "hologram"}' WHERE id = $1`, [bad!.id]),
      );
      const claim = () =>
        storage.outboxQueue.claim({
          owner: 'w',
          limit: 100,
          leaseMs: 30_000,
          now: later,
          horizonMs: 3_600_000,
        });
      const claimed = await expectOk(claim());
      expect(claimed.map((send) => send.id)).toContain(good!.id);
      expect(claimed.map((send) => send.id)).not.toContain(bad!.id);
      const [row] = await expectOk(
        driver.query('SELECT status, last_failure, lease_owner FROM prestabot.outbox WHERE id = $1', [
          bad!.id,
        ]),
      );
      expect(row).toMatchObject({
        status: 'failed',
        last_failure: { reason: 'unreadable' },
        lease_owner: null,
      });
      expect(linesAbout(bad!.id).map((line) => line.level)).toContain('error');
      expect((await expectOk(claim())).map((send) => send.id)).not.toContain(bad!.id);
    });

    it('does not fail the inbox claim: the readable entries are handed out, the unreadable one is abandoned, logged', async () => {
      const { storage, driver } = context();
      const { number } = await seedTenant(storage);
      const good = textInboxEntry(number.phoneNumberId, { waId: '56911110001' });
      const bad = textInboxEntry(number.phoneNumberId, { waId: '56911110002' });
      await storeInInbox(storage.inboxQueue, [good, bad]);
      await expectOk(
        driver.query(`UPDATE prestabot.inbox SET item = '{"kind": "message", "wamid": 7}' WHERE id = $1`, [
          bad.id,
        ]),
      );
      const claimed = await expectOk(
        storage.inboxQueue.claim({
          owner: 'w',
          limit: 100,
          leaseMs: 30_000,
          now: later,
          ids: [good.id, bad.id],
        }),
      );
      expect(claimed.map((entry) => entry.id)).toEqual([good.id]);
      const [row] = await expectOk(
        driver.query(
          'SELECT processed_at IS NOT NULL AS processed, abandoned, last_error, lease_owner FROM prestabot.inbox WHERE id = $1',
          [bad.id],
        ),
      );
      expect(row).toMatchObject({ processed: true, abandoned: true, lease_owner: null });
      expect(String(row?.last_error)).toContain('unreadable');
      expect(linesAbout(bad.id).map((line) => line.level)).toContain('error');
    });

    it('does not fail the reminder claim: the readable reminders are handed out, the unreadable one is skipped, logged', async () => {
      const { storage, driver } = context();
      const { tenant, agreement } = await seedLoan(storage, { status: 'active' });
      const reminder = (kind: 'day_before' | 'due_day', day: number) => ({
        id: fixtureUuid(),
        agreementId: agreement.id,
        kind,
        localDate: { year: 2026, month: 3, day },
        scheduledAt: new Date(Date.UTC(2026, 2, day, 12)),
        recipientId: agreement.borrowerId,
      });
      const [good, bad] = [reminder('day_before', 14), reminder('due_day', 15)];
      await expectOk(
        storage.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, [good, bad])),
      );
      // A kind a newer version added, read by this one (a rolling deploy).
      await expectOk(driver.query('ALTER TABLE prestabot.reminders DROP CONSTRAINT reminders_kind_check'));
      await expectOk(
        driver.query(`UPDATE prestabot.reminders SET kind = 'weekly_digest' WHERE id = $1`, [bad.id]),
      );
      const claimed = await expectOk(
        storage.reminderQueue.claimDue({ owner: 'w', now: later, limit: 100, leaseMs: 30_000 }),
      );
      expect(claimed.map((row) => row.id)).toContain(good.id);
      expect(claimed.map((row) => row.id)).not.toContain(bad.id);
      const [row] = await expectOk(
        driver.query('SELECT status, reason, lease_owner FROM prestabot.reminders WHERE id = $1', [bad.id]),
      );
      expect(row).toMatchObject({ status: 'skipped', lease_owner: null });
      expect(String(row?.reason)).toContain('unreadable');
      expect(linesAbout(bad.id).map((line) => line.level)).toContain('error');
    });
  },
  { logger },
);
