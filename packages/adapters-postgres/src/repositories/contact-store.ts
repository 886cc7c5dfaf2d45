import type { ContactIdentity, ContactStore, StorageError } from '@prestabot/application';
import type { Contact, ContactId, E164, ResultAsync } from '@prestabot/domain';
import { readOptionalRow, readRow } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { contactColumnsSql, contactRow, upsertedContactRow } from './contact.row.ts';

/**
 * One statement: find the person by user id, else by phone; fill in what the row lacked (a phone or user
 * id nobody else of the tenant has) and the latest name, unless the person chose theirs in their profile;
 * or create them. A person whose row already says all that is not written at all (most messages come from
 * someone known). The new values are worked out from the row the update meets, so a concurrent change to
 * it (a name chosen meanwhile) is not overwritten.
 */
// What a person's row lacks or has changed, judged on the row the update meets: a phone or user id nobody
// else of the tenant has, or the latest name unless they chose theirs.
const fillsPhone = `(c.phone_e164 IS NULL AND $2::text IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM prestabot.contacts o WHERE o.phone_e164 = $2::text AND o.id <> c.id))`;
const fillsUserId = `(c.user_id IS NULL AND $1::text IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM prestabot.contacts o WHERE o.user_id = $1::text AND o.id <> c.id))`;
const renames = '(NOT c.name_chosen AND $3::text IS NOT NULL AND $3::text IS DISTINCT FROM c.name)';

const upsertContactSql = `
WITH found AS (
  SELECT id, tenant_id, phone_e164, user_id, name, opted_out
  FROM prestabot.contacts
  WHERE ($1::text IS NOT NULL AND user_id = $1::text) OR ($2::text IS NOT NULL AND phone_e164 = $2::text)
  ORDER BY (user_id = $1::text) IS TRUE DESC
  LIMIT 1
), updated AS (
  UPDATE prestabot.contacts c
  SET phone_e164 = CASE WHEN ${fillsPhone} THEN $2::text ELSE c.phone_e164 END,
      user_id = CASE WHEN ${fillsUserId} THEN $1::text ELSE c.user_id END,
      name = CASE WHEN ${renames} THEN $3::text ELSE c.name END,
      updated_at = clock_timestamp()
  FROM found
  WHERE c.id = found.id AND (${fillsPhone} OR ${fillsUserId} OR ${renames})
  RETURNING c.id, c.tenant_id, c.phone_e164, c.user_id, c.name, c.opted_out, false AS created
), inserted AS (
  INSERT INTO prestabot.contacts (id, phone_e164, user_id, name)
  SELECT $4::uuid, $2::text, $1::text, $3::text
  WHERE NOT EXISTS (SELECT 1 FROM found)
  RETURNING id, tenant_id, phone_e164, user_id, name, opted_out, true AS created
)
SELECT * FROM updated
UNION ALL
SELECT found.*, false AS created FROM found WHERE NOT EXISTS (SELECT 1 FROM updated)
UNION ALL
SELECT * FROM inserted`;

export class PostgresContactStore implements ContactStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  upsert(
    identity: ContactIdentity,
    idIfNew: ContactId,
  ): ResultAsync<{ readonly contact: Contact; readonly created: boolean }, StorageError> {
    return this.#session
      .query(upsertContactSql, [
        identity.userId ?? null,
        identity.phone ?? null,
        identity.name ?? null,
        idIfNew,
      ])
      .andThen(readRow(upsertedContactRow, 'contact'));
  }

  get(id: ContactId): ResultAsync<Contact | undefined, StorageError> {
    return this.#session
      .query(`SELECT ${contactColumnsSql} FROM prestabot.contacts WHERE id = $1`, [id])
      .andThen(readOptionalRow(contactRow, 'contact'));
  }

  findByPhone(phone: E164): ResultAsync<Contact | undefined, StorageError> {
    return this.#session
      .query(`SELECT ${contactColumnsSql} FROM prestabot.contacts WHERE phone_e164 = $1`, [phone])
      .andThen(readOptionalRow(contactRow, 'contact'));
  }

  setOptedOut(id: ContactId, optedOut: boolean): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.contacts
         SET opted_out = $2, opted_out_at = CASE WHEN $2 THEN coalesce(opted_out_at, clock_timestamp()) END,
             updated_at = clock_timestamp()
         WHERE id = $1`,
        [id, optedOut],
      )
      .map(() => undefined);
  }
}
