import type { InboxStore, Lease, NewInboxEntry, StorageError } from '@prestabot/application';
import { okAsync, type ResultAsync } from '@prestabot/domain';
import { idRow, inInputOrder, readRows } from '../rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';

export class PostgresInboxStore implements InboxStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * One statement for the whole batch; an item already stored for its number is skipped. The composite
   * foreign key refuses an entry for another tenant's number (`constraint`).
   */
  record(
    entries: readonly NewInboxEntry[],
  ): ResultAsync<{ readonly recorded: readonly string[]; readonly duplicates: number }, StorageError> {
    if (entries.length === 0) return okAsync({ recorded: [], duplicates: 0 });
    const rows = entries.map((entry) => ({
      id: entry.id,
      phone_number_id: entry.phoneNumberId,
      delivery_key: entry.deliveryKey,
      ordering_key: entry.orderingKey ?? null,
      kind: entry.item.kind,
      item: entry.item,
      item_time: entry.item.kind === 'message' ? entry.item.sentAt : entry.item.at,
      received_at: entry.receivedAt,
    }));
    return this.#session
      .query(
        `INSERT INTO prestabot.inbox
           (id, phone_number_id, delivery_key, ordering_key, kind, item, item_time, received_at, available_at)
         SELECT e.id, e.phone_number_id, e.delivery_key, e.ordering_key, e.kind, e.item, e.item_time,
                e.received_at, e.received_at
         FROM jsonb_to_recordset($1::jsonb) AS e (id uuid, phone_number_id text, delivery_key text,
           ordering_key text, kind text, item jsonb, item_time timestamptz, received_at timestamptz)
         ON CONFLICT (phone_number_id, delivery_key) DO NOTHING
         RETURNING id`,
        [JSON.stringify(rows)],
      )
      .andThen(readRows(idRow, 'inbox id'))
      .map((stored) => {
        const recorded = inInputOrder(entries, stored);
        return { recorded, duplicates: entries.length - recorded.length };
      });
  }

  complete(id: string, lease: Lease, at: Date): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, 'processed_at = $4', [at]);
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
         WHERE id = $1 AND processed_at IS NULL AND lease_owner = $2 AND leased_until = $3
         RETURNING id`,
        [id, lease.owner, lease.until, ...values],
      )
      .map((rows) => rows.length > 0);
  }
}
