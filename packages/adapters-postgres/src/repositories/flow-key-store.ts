import type { FlowKeyStore, StorageError, StoredFlowKey } from '@prestabot/application';
import type { PhoneNumberId, ResultAsync } from '@prestabot/domain';
import { readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { sealedColumnsOf } from './contact.row.ts';
import { flowKeyColumnsSql, flowKeyRow } from './flow-key.row.ts';

/**
 * One statement: the current key of the new key's number (or of the tenant, for a tenant-wide key) is
 * retired, then the new key added. The insert reads the retired keys so that the update happens first:
 * the other way round, the new key would meet the one it replaces on the current-key index.
 */
const addKeySql = `
WITH retired AS (
  UPDATE prestabot.flow_keys
  SET retired_at = $7
  WHERE retired_at IS NULL AND phone_number_id IS NOT DISTINCT FROM $2::text
  RETURNING id
)
INSERT INTO prestabot.flow_keys (id, phone_number_id, fingerprint, private_key_key_id, private_key_ciphertext,
  created_at)
SELECT $1, $2, $3, $4, $5, $6
FROM (SELECT count(*) FROM retired) AS replaced`;

export class PostgresFlowKeyStore implements FlowKeyStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * Rotations of one tenant take turns on its row: a concurrent one waits, then retires the key this one
   * added, instead of colliding with it on the current-key index. FOR NO KEY UPDATE leaves alone the
   * foreign-key checks of rows that point at the tenant. Another tenant's number is refused by the
   * composite foreign key (`constraint`).
   */
  add(key: Omit<StoredFlowKey, 'retiredAt' | 'graceFrom'>, at: Date): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        'SELECT id FROM prestabot.tenants WHERE id = prestabot.prestabot_current_tenant() FOR NO KEY UPDATE',
      )
      .andThen(() =>
        this.#session.query(addKeySql, [
          key.id,
          key.phoneNumberId ?? null,
          key.fingerprint,
          ...sealedColumnsOf(key.privateKey),
          key.createdAt,
          at,
        ]),
      )
      .map(() => undefined);
  }

  startGrace(phoneNumberId: PhoneNumberId | undefined, at: Date): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.flow_keys SET grace_from = $2
         WHERE retired_at IS NOT NULL AND grace_from IS NULL AND phone_number_id IS NOT DISTINCT FROM $1::text`,
        [phoneNumberId ?? null, at],
      )
      .map(() => undefined);
  }

  list(): ResultAsync<readonly StoredFlowKey[], StorageError> {
    return this.#session
      .query(`SELECT ${flowKeyColumnsSql} FROM prestabot.flow_keys ORDER BY created_at DESC, id`)
      .andThen(readRows(flowKeyRow, 'flow key'));
  }
}
