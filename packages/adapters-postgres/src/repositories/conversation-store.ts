import type { ConversationRecord, ConversationStore, StorageError } from '@prestabot/application';
import type { ContactId, ResultAsync } from '@prestabot/domain';
import { readOptionalRow } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { conversationRow } from './conversation.row.ts';

export class PostgresConversationStore implements ConversationStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  get(contactId: ContactId): ResultAsync<ConversationRecord | undefined, StorageError> {
    return this.#session
      .query('SELECT state, version, expires_at FROM prestabot.conversations WHERE contact_id = $1', [
        contactId,
      ])
      .andThen(readOptionalRow(conversationRow, 'conversation'));
  }

  /**
   * Version 0 creates the conversation unless one exists; any other updates it only while it is still at
   * that version. Either way a concurrent writer that got there first wins, and this save reports false:
   * the insert meets its row (DO NOTHING), the update re-reads the row it waited for and no longer matches.
   * Another tenant's contact is refused by the composite foreign key (`constraint`).
   */
  save(
    contactId: ContactId,
    state: unknown,
    expectedVersion: number,
    expiresAt: Date,
  ): ResultAsync<boolean, StorageError> {
    const saved =
      expectedVersion === 0
        ? this.#session.query(
            `INSERT INTO prestabot.conversations (contact_id, state, version, expires_at)
             VALUES ($1, $2::jsonb, 1, $3)
             ON CONFLICT (tenant_id, contact_id) DO NOTHING
             RETURNING version`,
            [contactId, JSON.stringify(state), expiresAt],
          )
        : this.#session.query(
            `UPDATE prestabot.conversations
             SET state = $2::jsonb, version = version + 1, expires_at = $3, updated_at = clock_timestamp()
             WHERE contact_id = $1 AND version = $4
             RETURNING version`,
            [contactId, JSON.stringify(state), expiresAt, expectedVersion],
          );
    return saved.map((rows) => rows.length > 0);
  }

  clear(contactId: ContactId): ResultAsync<void, StorageError> {
    return this.#session
      .query('DELETE FROM prestabot.conversations WHERE contact_id = $1', [contactId])
      .map(() => undefined);
  }
}
