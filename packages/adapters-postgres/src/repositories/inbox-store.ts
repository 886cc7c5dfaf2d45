import type { HeldEntry, InboxStore, Lease, StorageError } from '@prestabot/application';
import { okAsync, type ResultAsync } from '@prestabot/domain';
import type { SqlSession } from '../sql/sql-driver.ts';

export class PostgresInboxStore implements InboxStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /** One statement for them all; nothing is done unless every lease still holds. */
  complete(entries: readonly HeldEntry[], at: Date): ResultAsync<boolean, StorageError> {
    if (entries.length === 0) return okAsync(true);
    return this.#session
      .query(
        `WITH done AS (
           UPDATE prestabot.inbox e
           SET processed_at = $2, lease_owner = NULL, leased_until = NULL
           FROM jsonb_to_recordset($1::jsonb) AS h (id uuid, lease_owner text, leased_until timestamptz)
           WHERE e.id = ANY ($3::uuid[]) AND e.id = h.id AND e.processed_at IS NULL
             AND e.lease_owner = h.lease_owner AND e.leased_until >= h.leased_until
           RETURNING e.id
         )
         SELECT count(*)::integer AS done FROM done`,
        [
          JSON.stringify(
            entries.map(({ id, lease }) => ({ id, lease_owner: lease.owner, leased_until: lease.until })),
          ),
          at,
          entries.map(({ id }) => id),
        ],
      )
      .map((rows) => rows[0]?.done === entries.length);
  }

  release(id: string, lease: Lease, retryAt: Date, error: string): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, 'available_at = $4, last_error = $5', [retryAt, error]);
  }

  abandon(id: string, lease: Lease, at: Date, error: string): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, 'processed_at = $4, abandoned = true, last_error = $5', [at, error]);
  }

  /** Changes an unprocessed entry only while `lease` still holds it; false when the lease was lost. */
  #settle(
    id: string,
    lease: Lease,
    assignments: string,
    values: readonly unknown[],
  ): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.inbox
         SET ${assignments}, lease_owner = NULL, leased_until = NULL
         WHERE id = $1 AND processed_at IS NULL AND lease_owner = $2 AND leased_until >= $3
         RETURNING id`,
        [id, lease.owner, lease.until, ...values],
      )
      .map((rows) => rows.length > 0);
  }
}
