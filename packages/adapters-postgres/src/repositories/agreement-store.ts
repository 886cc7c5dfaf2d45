import type { AgreementStore, StorageError } from '@prestabot/application';
import {
  type Agreement,
  type AgreementId,
  type AgreementStatus,
  type ContactId,
  formatIsoDate,
  type ResultAsync,
} from '@prestabot/domain';
import { readOptionalRow, readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { agreementColumnsSql, agreementRow, subjectColumnsOf } from './agreement.row.ts';

/** Everything about a loan but its id and tenant, written from parameters $3 to $16 (see `stateOf`). */
const stateColumns =
  'phone_number_id, lender_contact_id, borrower_contact_id, kind, amount_minor, currency, description, due_date, status, created_at, confirmed_at, return_claimed_at, closed_at, last_reminded_at';
const stateParameters = '$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16';

const stateOf = (agreement: Agreement): readonly unknown[] => [
  agreement.phoneNumberId,
  agreement.lenderId,
  agreement.borrowerId,
  ...subjectColumnsOf(agreement.subject),
  formatIsoDate(agreement.dueDate),
  agreement.status,
  agreement.createdAt,
  agreement.confirmedAt ?? null,
  agreement.returnClaimedAt ?? null,
  agreement.closedAt ?? null,
  agreement.lastRemindedAt ?? null,
];

/**
 * One part of a contact's loans, in the order of the partial index (0006) that serves it. The order names
 * the table's columns (`a.`): the select list reads `due_date` as text under the same name.
 */
const loansOf = (party: 'lender' | 'borrower', closed: boolean) =>
  closed
    ? `(SELECT ${agreementColumnsSql}, true AS closed FROM prestabot.agreements a
        WHERE a.${party}_contact_id = $1 AND a.status IN ('returned', 'rejected', 'cancelled')
        ORDER BY coalesce(a.closed_at, a.created_at) DESC, a.id LIMIT $2)`
    : `(SELECT ${agreementColumnsSql}, false AS closed FROM prestabot.agreements a
        WHERE a.${party}_contact_id = $1 AND a.status IN ('pending_confirmation', 'active')
        ORDER BY a.due_date, a.created_at, a.id LIMIT $2)`;

/**
 * A contact's open loans by due date, then their closed ones newest first. Lent and borrowed loans are
 * apart in the indexes, so each of the four parts reads at most the limit, and the parts are merged.
 */
const listForSql = `
SELECT * FROM (
  ${loansOf('lender', false)} UNION ALL ${loansOf('borrower', false)}
  UNION ALL ${loansOf('lender', true)} UNION ALL ${loansOf('borrower', true)}
) loans
ORDER BY closed, CASE WHEN NOT closed THEN due_date::date END, CASE WHEN NOT closed THEN created_at END,
         coalesce(closed_at, created_at) DESC, id
LIMIT $2`;

/** Held requests that ask this contact something now: a loan to confirm as borrower, a return to confirm as lender. */
const takeHeldRequestsSql = `
WITH held AS (
  SELECT id, request_held_at AS held_at FROM prestabot.agreements
  WHERE request_held_at IS NOT NULL
    AND ((status = 'pending_confirmation' AND borrower_contact_id = $1)
      OR (status = 'active' AND return_claimed_at IS NOT NULL AND lender_contact_id = $1))
  FOR UPDATE
), taken AS (
  UPDATE prestabot.agreements a SET request_held_at = NULL FROM held WHERE a.id = held.id RETURNING a.id
)
SELECT ${agreementColumnsSql} FROM prestabot.agreements JOIN held USING (id)
WHERE id IN (SELECT id FROM taken)
ORDER BY held.held_at, id`;

export class PostgresAgreementStore implements AgreementStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * Another tenant's id is refused by row-level security (WITH CHECK), another tenant's contact or number
   * by the composite foreign keys: `constraint` either way.
   */
  create(agreement: Agreement): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.agreements (id, tenant_id, ${stateColumns}) VALUES ($1, $2, ${stateParameters})`,
        [agreement.id, agreement.tenantId, ...stateOf(agreement)],
      )
      .map(() => undefined);
  }

  get(id: AgreementId): ResultAsync<Agreement | undefined, StorageError> {
    return this.#session
      .query(`SELECT ${agreementColumnsSql} FROM prestabot.agreements WHERE id = $1`, [id])
      .andThen(readOptionalRow(agreementRow, 'agreement'));
  }

  listFor(contactId: ContactId, limit: number): ResultAsync<readonly Agreement[], StorageError> {
    return this.#session.query(listForSql, [contactId, limit]).andThen(readRows(agreementRow, 'agreement'));
  }

  pendingFor(borrowerId: ContactId): ResultAsync<readonly Agreement[], StorageError> {
    return this.#session
      .query(
        `SELECT ${agreementColumnsSql} FROM prestabot.agreements
         WHERE borrower_contact_id = $1 AND status = 'pending_confirmation'
         ORDER BY created_at, id`,
        [borrowerId],
      )
      .andThen(readRows(agreementRow, 'agreement'));
  }

  /** One statement: the row is written only if its status is still `expected` when the update reaches it. */
  update(agreement: Agreement, expected: AgreementStatus): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.agreements SET (${stateColumns}) = (${stateParameters}), request_held_at = NULL
         WHERE id = $1 AND status = $2
         RETURNING id`,
        [agreement.id, expected, ...stateOf(agreement)],
      )
      .map((rows) => rows.length > 0);
  }

  holdRequest(id: AgreementId, at: Date): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        'UPDATE prestabot.agreements SET request_held_at = $2 WHERE id = $1 AND request_held_at IS NULL',
        [id, at],
      )
      .map(() => undefined);
  }

  /**
   * The rows are locked as they are read: a concurrent taker waits, then finds them cleared, so each held
   * request is handed over once.
   */
  takeHeldRequests(contactId: ContactId): ResultAsync<readonly Agreement[], StorageError> {
    return this.#session.query(takeHeldRequestsSql, [contactId]).andThen(readRows(agreementRow, 'agreement'));
  }
}
