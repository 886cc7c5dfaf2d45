import type { NewNumber, NumberStore, StorageError, StoredToken } from '@prestabot/application';
import type { MetaNumberView, PhoneNumberId, ResultAsync, WhatsAppNumber } from '@prestabot/domain';
import { readOptionalRow, readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { numberColumnsSql, numberRow, storedTokenRow, tokenColumnsOf } from './number.row.ts';

export class PostgresNumberStore implements NumberStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /** `phone_number_id` is the primary key across all tenants: another tenant's number is a `duplicate`. */
  add(number: NewNumber): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.whatsapp_numbers (phone_number_id, display_phone_number, waba_id, app_id,
           token_state, token_key_id, token_ciphertext, token_length, rate_per_second, rate_pinned)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          number.phoneNumberId,
          number.displayPhoneNumber ?? null,
          number.wabaId,
          number.appId ?? null,
          ...tokenColumnsOf(number.token),
          number.ratePerSecond,
          number.ratePinned === true,
        ],
      )
      .map(() => undefined);
  }

  get(phoneNumberId: PhoneNumberId): ResultAsync<WhatsAppNumber | undefined, StorageError> {
    return this.#session
      .query(`SELECT ${numberColumnsSql} FROM prestabot.whatsapp_numbers WHERE phone_number_id = $1`, [
        phoneNumberId,
      ])
      .andThen(readOptionalRow(numberRow, 'number'));
  }

  list(): ResultAsync<readonly WhatsAppNumber[], StorageError> {
    return this.#session
      .query(
        `SELECT ${numberColumnsSql} FROM prestabot.whatsapp_numbers ORDER BY created_at, phone_number_id`,
      )
      .andThen(readRows(numberRow, 'number'));
  }

  token(phoneNumberId: PhoneNumberId): ResultAsync<StoredToken | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT token_state, token_key_id, token_ciphertext, token_length
         FROM prestabot.whatsapp_numbers WHERE phone_number_id = $1`,
        [phoneNumberId],
      )
      .andThen(readOptionalRow(storedTokenRow, 'token'));
  }

  replaceToken(phoneNumberId: PhoneNumberId, token: StoredToken): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `WITH replaced AS (
           UPDATE prestabot.whatsapp_numbers
           SET token_state = $2, token_key_id = $3, token_ciphertext = $4, token_length = $5,
               token_invalid_at = NULL, token_error_code = NULL
           WHERE phone_number_id = $1
           RETURNING phone_number_id
         ), released AS (
           UPDATE prestabot.outbox o SET available_at = o.not_before
           WHERE o.phone_number_id IN (SELECT phone_number_id FROM replaced) AND o.status = 'pending'
             AND o.last_failure ->> 'reason' = 'token_invalid'
         )
         SELECT phone_number_id FROM replaced`,
        [phoneNumberId, ...tokenColumnsOf(token)],
      )
      .map((rows) => rows.length > 0);
  }

  recordAccountEvent(
    phoneNumberId: PhoneNumberId,
    change: { readonly qualityFlagged?: boolean; readonly messagingLimit?: number | 'unlimited' },
  ): ResultAsync<boolean, StorageError> {
    const { qualityFlagged, messagingLimit } = change;
    return this.#session
      .query(
        `UPDATE prestabot.whatsapp_numbers
         SET quality_flagged = coalesce($2, quality_flagged),
             messaging_limit = CASE WHEN $3 THEN $4::integer ELSE messaging_limit END
         WHERE phone_number_id = $1
         RETURNING phone_number_id`,
        [
          phoneNumberId,
          qualityFlagged ?? null,
          messagingLimit !== undefined,
          messagingLimit === undefined || messagingLimit === 'unlimited' ? null : messagingLimit,
        ],
      )
      .map((rows) => rows.length > 0);
  }

  recordMetaView(
    phoneNumberId: PhoneNumberId,
    view: MetaNumberView,
    change: { readonly ratePerSecond?: number; readonly syncedAt: Date },
  ): ResultAsync<WhatsAppNumber | undefined, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.whatsapp_numbers
         SET business_portfolio_id = $2, messaging_limit = $3, quality_rating = $4, throughput_level = $5,
             name_status = $6, verified_name = $7, meta_synced_at = $8,
             rate_per_second = CASE WHEN rate_pinned OR $9::integer IS NULL THEN rate_per_second ELSE $9 END
         WHERE phone_number_id = $1
         RETURNING ${numberColumnsSql}`,
        [
          phoneNumberId,
          view.businessPortfolioId ?? null,
          view.messagingLimit === 'unlimited' ? null : view.messagingLimit,
          view.qualityRating,
          view.throughputLevel,
          view.nameStatus ?? null,
          view.verifiedName ?? null,
          change.syncedAt,
          change.ratePerSecond ?? null,
        ],
      )
      .andThen(readOptionalRow(numberRow, 'number'));
  }
}
