import {
  type SealedSecret,
  type SealedSecretStore,
  type SecretPlace,
  type StorageError,
  type StoredSecret,
  secretPlaces,
} from '@prestabot/application';
import {
  type ContactId,
  okAsync,
  type PhoneNumberId,
  type ResultAsync,
  type TenantId,
} from '@prestabot/domain';
import * as z from 'zod';
import { readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';

/** A table column that holds a sealed secret: its key id and ciphertext columns, and its rows' place. */
type SealedColumn = {
  readonly table: string;
  readonly rowKey: string;
  readonly keyIdColumn: string;
  readonly ciphertextColumn: string;
  readonly placeOf: (tenantId: TenantId, rowId: string) => SecretPlace;
};

const sealedColumns: readonly SealedColumn[] = [
  {
    table: 'whatsapp_numbers',
    rowKey: 'phone_number_id',
    keyIdColumn: 'token_key_id',
    ciphertextColumn: 'token_ciphertext',
    placeOf: (tenantId, rowId) => secretPlaces.accessToken(tenantId, rowId as PhoneNumberId),
  },
  {
    table: 'flow_keys',
    rowKey: 'id',
    keyIdColumn: 'private_key_key_id',
    ciphertextColumn: 'private_key_ciphertext',
    placeOf: secretPlaces.flowPrivateKey,
  },
  {
    table: 'contacts',
    rowKey: 'id',
    keyIdColumn: 'bank_details_key_id',
    ciphertextColumn: 'bank_details_ciphertext',
    placeOf: (tenantId, rowId) => secretPlaces.bankDetails(tenantId, rowId as ContactId),
  },
];

const sealedRow = z.object({
  tenant_id: z.string(),
  row_id: z.string(),
  key_id: z.string(),
  ciphertext: z.string(),
});

const columnAt = (place: SecretPlace): SealedColumn | undefined =>
  sealedColumns.find((column) => {
    const expected = column.placeOf(place.tenantId ?? ('' as TenantId), place.rowId);
    return expected.table === place.table && expected.column === place.column;
  });

/** The scoped tenant's sealed secrets in every table that holds one; row-level security keeps it to them. */
export class PostgresSealedSecretStore implements SealedSecretStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  list(): ResultAsync<readonly StoredSecret[], StorageError> {
    // One table after another: a session runs one statement at a time.
    return sealedColumns.reduce<ResultAsync<readonly StoredSecret[], StorageError>>(
      (listed, column) =>
        listed.andThen((before) =>
          this.#session
            .query(
              `SELECT tenant_id::text AS tenant_id, ${column.rowKey}::text AS row_id,
                      ${column.keyIdColumn} AS key_id, ${column.ciphertextColumn} AS ciphertext
               FROM prestabot.${column.table} WHERE ${column.ciphertextColumn} IS NOT NULL`,
            )
            .andThen(readRows(sealedRow, `sealed ${column.table} secret`))
            .map((rows) => [
              ...before,
              ...rows.map(
                (row): StoredSecret => ({
                  place: column.placeOf(row.tenant_id as TenantId, row.row_id),
                  sealed: { keyId: row.key_id, ciphertext: row.ciphertext },
                }),
              ),
            ]),
        ),
      okAsync([]),
    );
  }

  replace(place: SecretPlace, from: SealedSecret, to: SealedSecret): ResultAsync<boolean, StorageError> {
    const column = columnAt(place);
    if (column === undefined || place.tenantId === undefined) return okAsync(false);
    return this.#session
      .query(
        `UPDATE prestabot.${column.table}
         SET ${column.keyIdColumn} = $3, ${column.ciphertextColumn} = $4
         WHERE tenant_id = $1::uuid AND ${column.rowKey}::text = $2
           AND ${column.keyIdColumn} = $5 AND ${column.ciphertextColumn} = $6
         RETURNING 1 AS replaced`,
        [place.tenantId, place.rowId, to.keyId, to.ciphertext, from.keyId, from.ciphertext],
      )
      .map((rows) => rows.length > 0);
  }
}
