import {
  type ContactProfile,
  type ContactProfileStore,
  type StorageError,
  storageError,
} from '@prestabot/application';
import { type ContactId, err, ok, okAsync, type ResultAsync } from '@prestabot/domain';
import { readOptionalRow } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { contactProfileRow, sealedColumnsOf } from './contact.row.ts';

/** The profile lives on the contact's row: its name, email and sealed bank details. */
export class PostgresContactProfileStore implements ContactProfileStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  get(contactId: ContactId): ResultAsync<ContactProfile | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT name, email, bank_details_key_id, bank_details_ciphertext FROM prestabot.contacts WHERE id = $1`,
        [contactId],
      )
      .andThen(readOptionalRow(contactProfileRow, 'contact profile'));
  }

  /**
   * The profile replaces the email and bank details (absent clears them); the name is kept unless given,
   * since the contact had one before any profile. A name given here is the person's own choice: later
   * WhatsApp profile names no longer replace it. A contact that is not the tenant's is updated by
   * nothing, and reported as `constraint`.
   */
  save(contactId: ContactId, profile: ContactProfile): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.contacts
         SET name = coalesce($2, name), name_chosen = name_chosen OR $2::text IS NOT NULL, email = $3, bank_details_key_id = $4, bank_details_ciphertext = $5,
             updated_at = clock_timestamp()
         WHERE id = $1
         RETURNING id`,
        [contactId, profile.name ?? null, profile.email ?? null, ...sealedColumnsOf(profile.bankDetails)],
      )
      .andThen((rows) =>
        rows.length > 0
          ? ok(undefined)
          : err(storageError('constraint', "a profile names a contact that is not this tenant's")),
      );
  }

  /**
   * One conditional update: two submits with one token take turns on the contact's row, and the second
   * finds the mark already set. No row updated is a replay when the contact is there, else not the tenant's.
   */
  recordSubmit(contactId: ContactId, tokenExpiresAt: Date): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.contacts SET profile_submit_token_expiry = $2
         WHERE id = $1 AND (profile_submit_token_expiry IS NULL OR profile_submit_token_expiry < $2)
         RETURNING id`,
        [contactId, tokenExpiresAt],
      )
      .andThen((updated) =>
        updated.length > 0
          ? okAsync(true)
          : this.#session
              .query('SELECT id FROM prestabot.contacts WHERE id = $1', [contactId])
              .andThen((found) =>
                found.length > 0
                  ? ok(false)
                  : err(
                      storageError(
                        'constraint',
                        "a profile submit names a contact that is not this tenant's",
                      ),
                    ),
              ),
      );
  }
}
