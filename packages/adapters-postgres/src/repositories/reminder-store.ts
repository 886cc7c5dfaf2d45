import {
  type Lease,
  type NewReminder,
  type Reminder,
  type ReminderStore,
  type StorageError,
  storageError,
} from '@prestabot/application';
import {
  type AgreementId,
  advanceStatus,
  type DeliveryStatus,
  err,
  formatIsoDate,
  ok,
  okAsync,
  type ResultAsync,
} from '@prestabot/domain';
import { readOptionalRow, readRow, readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { reminderColumnsSql, reminderDeliveryRow, reminderRow, replacedPlanRow } from './reminder.row.ts';

/**
 * One statement: pending reminders of the agreement that are not in the plan are cancelled, and the plan's
 * reminders are added unless their (kind, local date) exists in any state. The composite foreign keys
 * refuse another tenant's agreement or recipient (`constraint`); an agreement that is not the tenant's is
 * also reported when the plan is empty, by `agreement_found`.
 */
const replacePlanSql = `
WITH plan AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS p (id uuid, agreement_id uuid, kind text, local_date date,
    scheduled_at timestamptz, recipient_contact_id uuid)
), cancelled AS (
  UPDATE prestabot.reminders r
  SET status = 'cancelled', reason = 'rescheduled'
  WHERE r.agreement_id = $1 AND r.status = 'pending'
    AND NOT EXISTS (
      SELECT 1 FROM plan p
      WHERE p.agreement_id = r.agreement_id AND p.kind = r.kind AND p.local_date = r.local_date)
  RETURNING r.id
), added AS (
  INSERT INTO prestabot.reminders (id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id)
  SELECT id, agreement_id, kind, local_date, scheduled_at, recipient_contact_id FROM plan
  ON CONFLICT (tenant_id, agreement_id, kind, local_date) DO NOTHING
  RETURNING id
)
SELECT (SELECT count(*) FROM added)::integer AS added,
       (SELECT count(*) FROM cancelled)::integer AS cancelled,
       EXISTS (SELECT 1 FROM prestabot.agreements WHERE id = $1) AS agreement_found`;

export class PostgresReminderStore implements ReminderStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  replacePlan(
    agreementId: AgreementId,
    plan: readonly NewReminder[],
  ): ResultAsync<{ readonly added: number; readonly cancelled: number }, StorageError> {
    const rows = plan.map((reminder) => ({
      id: reminder.id,
      agreement_id: reminder.agreementId,
      kind: reminder.kind,
      local_date: formatIsoDate(reminder.localDate),
      scheduled_at: reminder.scheduledAt,
      recipient_contact_id: reminder.recipientId,
    }));
    return this.#session
      .query(replacePlanSql, [agreementId, JSON.stringify(rows)])
      .andThen(readRow(replacedPlanRow, 'reminder plan'))
      .andThen(({ agreementFound, ...counts }) =>
        agreementFound
          ? ok(counts)
          : err(storageError('constraint', "a reminder plan names an agreement that is not this tenant's")),
      );
  }

  cancelPending(agreementId: AgreementId, reason: string): ResultAsync<number, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.reminders SET status = 'cancelled', reason = $2
         WHERE agreement_id = $1 AND status = 'pending'
         RETURNING id`,
        [agreementId, reason],
      )
      .map((rows) => rows.length);
  }

  listFor(agreementId: AgreementId): ResultAsync<readonly Reminder[], StorageError> {
    return this.#session
      .query(
        `SELECT ${reminderColumnsSql} FROM prestabot.reminders WHERE agreement_id = $1 ORDER BY scheduled_at, id`,
        [agreementId],
      )
      .andThen(readRows(reminderRow, 'reminder'));
  }

  markQueued(id: string, lease: Lease, outboxId: string): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, "status = 'queued', outbox_id = $4", [outboxId]);
  }

  markSkipped(id: string, lease: Lease, reason: string): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, "status = 'skipped', reason = $4", [reason]);
  }

  /**
   * The row is locked while the domain's status order decides, as for a message's own status: it only
   * moves forward. A message has statuses only once Graph accepted it, hence `accepted` before the first.
   */
  recordDelivery(id: string, status: DeliveryStatus): ResultAsync<void, StorageError> {
    return this.#session
      .query('SELECT delivery FROM prestabot.reminders WHERE id = $1 FOR UPDATE', [id])
      .andThen(readOptionalRow(reminderDeliveryRow, 'reminder delivery'))
      .andThen((stored) => {
        if (stored === undefined) return okAsync(undefined);
        const delivery = advanceStatus(stored.delivery ?? 'accepted', status);
        if (delivery === stored.delivery) return okAsync(undefined);
        return this.#session
          .query('UPDATE prestabot.reminders SET delivery = $2 WHERE id = $1', [id, delivery])
          .map(() => undefined);
      });
  }

  /** Settles a pending reminder only while `lease` still holds it; false when the lease was lost. */
  #settle(
    id: string,
    lease: Lease,
    assignments: string,
    values: readonly unknown[],
  ): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.reminders
         SET ${assignments}, lease_owner = NULL, leased_until = NULL
         WHERE id = $1 AND status = 'pending' AND lease_owner = $2 AND leased_until >= $3
         RETURNING id`,
        [id, lease.owner, lease.until, ...values],
      )
      .map((rows) => rows.length > 0);
  }
}
