import {
  type ClaimedSend,
  type NewOutboxEntry,
  type OutboxEntry,
  type OutboxLeaseRequest,
  type OutboxStore,
  type StorageError,
  sendRateShare,
} from '@prestabot/application';
import { okAsync, type PhoneNumberId, type Recipient, ResultAsync, recipientKeyOf } from '@prestabot/domain';
import { idRow, inInputOrder, readEachRow, readOptionalRow, readRow, readRows } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { claimedSendRow, messagingLimitRoomRow, outboxColumnsOf, outboxRow } from './outbox.row.ts';

export class PostgresOutboxStore implements OutboxStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * One statement for the entries with a key, where a key already used by the tenant is skipped, and one
   * for those without (replies), inserted plainly: a conflict clause makes every insert it guards
   * speculative, confirmed by a WAL record of its own. The reference checks (0040) refuse another tenant's
   * number or contact (`constraint`).
   */
  enqueue(
    entries: readonly NewOutboxEntry[],
  ): ResultAsync<{ readonly enqueued: readonly string[]; readonly duplicates: number }, StorageError> {
    const keyed = entries.filter((entry) => entry.idempotencyKey !== undefined);
    const keyless = entries.filter((entry) => entry.idempotencyKey === undefined);
    return ResultAsync.combine([
      this.#insert(
        keyed,
        'ON CONFLICT (tenant_id, (md5(idempotency_key)::uuid)) WHERE idempotency_key IS NOT NULL DO NOTHING',
      ),
      this.#insert(keyless, ''),
    ]).map(([storedKeyed, storedKeyless]) => {
      const enqueued = inInputOrder(entries, [...storedKeyed, ...storedKeyless]);
      return { enqueued, duplicates: entries.length - enqueued.length };
    });
  }

  #insert(
    entries: readonly NewOutboxEntry[],
    onConflict: string,
  ): ResultAsync<readonly string[], StorageError> {
    if (entries.length === 0) return okAsync([]);
    return this.#session
      .query(
        `INSERT INTO prestabot.outbox (id, phone_number_id, recipient, recipient_key, contact_id, message,
           fallback, reply_to, origin, idempotency_key, priority, not_before, available_at, created_at)
         SELECT e.id, e.phone_number_id, e.recipient, e.recipient_key, e.contact_id, e.message, e.fallback,
                e.reply_to, e.origin, e.idempotency_key, e.priority, e.not_before, e.not_before, e.created_at
         FROM jsonb_to_recordset($1::jsonb) AS e (id uuid, phone_number_id text, recipient jsonb,
           recipient_key text, contact_id uuid, message jsonb, fallback jsonb, reply_to text, origin jsonb,
           idempotency_key text, priority integer, not_before timestamptz, created_at timestamptz)
         ${onConflict}
         RETURNING id`,
        [JSON.stringify(entries.map(outboxColumnsOf))],
      )
      .andThen(readRows(idRow, 'outbox id'));
  }

  /**
   * `prestabot.lease_tenant_sends`, the scoped tenant's messages only. A row that cannot be read (none of
   * those this unit of work just wrote should be) is left leased: the claim that takes it once the lease
   * runs out quarantines it, as it would any other.
   */
  lease(request: OutboxLeaseRequest): ResultAsync<readonly ClaimedSend[], StorageError> {
    if (request.ids.length === 0) return okAsync([]);
    return this.#session
      .query('SELECT * FROM prestabot.lease_tenant_sends($1::uuid[], $2, $3, $4, $5, $6)', [
        request.ids,
        request.owner,
        request.leaseMs,
        request.now,
        request.horizonMs,
        sendRateShare,
      ])
      .map((rows) => readEachRow(claimedSendRow, 'leased send')(rows).read);
  }

  get(id: string): ResultAsync<OutboxEntry | undefined, StorageError> {
    return this.#session
      .query('SELECT * FROM prestabot.outbox WHERE id = $1', [id])
      .andThen(readOptionalRow(outboxRow, 'outbox'));
  }

  /** Counted across the portfolio's tenants by `prestabot.messaging_limit_room`, for this tenant's number only. */
  messagingLimitRoom(
    phoneNumberId: PhoneNumberId,
    recipient: Recipient,
    now: Date,
  ): ResultAsync<number | undefined, StorageError> {
    return this.#session
      .query('SELECT prestabot.messaging_limit_room($1, $2, $3) AS room', [
        phoneNumberId,
        recipientKeyOf(recipient),
        now,
      ])
      .andThen(readRow(messagingLimitRoomRow, 'messaging limit room'));
  }
}
