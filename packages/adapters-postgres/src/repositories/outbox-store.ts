import type {
  Lease,
  NewOutboxEntry,
  OutboxEntry,
  OutboxFailure,
  OutboxStore,
  StorageError,
} from '@prestabot/application';
import {
  okAsync,
  type PhoneNumberId,
  type Recipient,
  type ResultAsync,
  recipientKeyOf,
  type Wamid,
} from '@prestabot/domain';
import { idRow, inInputOrder, outboxRow, readOptionalRow, readRows } from '../rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';

export class PostgresOutboxStore implements OutboxStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * One statement for the whole batch; a key already used by the tenant is skipped. The composite foreign
   * keys refuse another tenant's number or contact (`constraint`).
   */
  enqueue(
    entries: readonly NewOutboxEntry[],
  ): ResultAsync<{ readonly enqueued: readonly string[]; readonly duplicates: number }, StorageError> {
    if (entries.length === 0) return okAsync({ enqueued: [], duplicates: 0 });
    const rows = entries.map((entry) => ({
      id: entry.id,
      phone_number_id: entry.phoneNumberId,
      recipient: entry.recipient ?? null,
      recipient_key: entry.recipient === undefined ? null : recipientKeyOf(entry.recipient),
      contact_id: entry.contactId ?? null,
      message: entry.message,
      fallback: entry.fallback ?? null,
      reply_to: entry.replyTo ?? null,
      origin: entry.origin,
      idempotency_key: entry.idempotencyKey,
      priority: entry.priority,
      not_before: entry.notBefore,
      created_at: entry.createdAt,
    }));
    return this.#session
      .query(
        `INSERT INTO prestabot.outbox (id, phone_number_id, recipient, recipient_key, contact_id, message,
           fallback, reply_to, origin, idempotency_key, priority, not_before, available_at, created_at)
         SELECT e.id, e.phone_number_id, e.recipient, e.recipient_key, e.contact_id, e.message, e.fallback,
                e.reply_to, e.origin, e.idempotency_key, e.priority, e.not_before, e.not_before, e.created_at
         FROM jsonb_to_recordset($1::jsonb) AS e (id uuid, phone_number_id text, recipient jsonb,
           recipient_key text, contact_id uuid, message jsonb, fallback jsonb, reply_to text, origin jsonb,
           idempotency_key text, priority integer, not_before timestamptz, created_at timestamptz)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING id`,
        [JSON.stringify(rows)],
      )
      .andThen(readRows(idRow, 'outbox id'))
      .map((stored) => {
        const enqueued = inInputOrder(entries, stored);
        return { enqueued, duplicates: entries.length - enqueued.length };
      });
  }

  get(id: string): ResultAsync<OutboxEntry | undefined, StorageError> {
    return this.#session
      .query('SELECT * FROM prestabot.outbox WHERE id = $1', [id])
      .andThen(readOptionalRow(outboxRow, 'outbox'));
  }

  markSent(id: string, lease: Lease, wamid: Wamid | undefined, at: Date): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, "status = 'sent', wamid = coalesce($4, wamid), sent_at = $5", [
      wamid ?? null,
      at,
    ]);
  }

  markFailed(id: string, lease: Lease, failure: OutboxFailure, at: Date): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, "status = 'failed', last_failure = $4::jsonb, failed_at = $5", [
      JSON.stringify(failure),
      at,
    ]);
  }

  retryLater(
    id: string,
    lease: Lease,
    retryAt: Date,
    failure: OutboxFailure,
  ): ResultAsync<boolean, StorageError> {
    return this.#settle(id, lease, 'available_at = $4, last_failure = $5::jsonb', [
      retryAt,
      JSON.stringify(failure),
    ]);
  }

  requeue(id: string, lease: Lease): ResultAsync<boolean, StorageError> {
    return this.#whileLeased(id, lease, 'slot_misses = slot_misses + 1', []);
  }

  /**
   * The template takes the message's place and the message is due again at `at`: the attempt that met the
   * closed window is not counted, since the template is a message of its own that has not been tried.
   */
  switchToFallback(id: string, lease: Lease, at: Date): ResultAsync<boolean, StorageError> {
    return this.#whileLeased(
      id,
      lease,
      'message = fallback, fallback = NULL, available_at = $4',
      [at],
      'fallback IS NOT NULL',
    );
  }

  /** A number that is not the tenant's is not found under row-level security: nothing is held. */
  holdRecipient(
    phoneNumberId: PhoneNumberId,
    recipient: Recipient,
    until: Date,
  ): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.outbox_recipient_holds (phone_number_id, recipient_key, until)
         SELECT n.phone_number_id, $2, $3 FROM prestabot.whatsapp_numbers n WHERE n.phone_number_id = $1
         ON CONFLICT (phone_number_id, recipient_key) DO UPDATE SET until = excluded.until`,
        [phoneNumberId, recipientKeyOf(recipient), until],
      )
      .map(() => undefined);
  }

  /** Records an attempt's outcome only while `lease` still holds the message; false when it was lost. */
  #settle(
    id: string,
    lease: Lease,
    assignments: string,
    values: readonly unknown[],
  ): ResultAsync<boolean, StorageError> {
    return this.#whileLeased(id, lease, `${assignments}, attempts = attempts + 1`, values);
  }

  /** Changes a pending message (or nothing but its lease), and frees it, only while `lease` still holds it (and `condition`). */
  #whileLeased(
    id: string,
    lease: Lease,
    assignments: string,
    values: readonly unknown[],
    condition = 'true',
  ): ResultAsync<boolean, StorageError> {
    return this.#session
      .query(
        `UPDATE prestabot.outbox
         SET ${[assignments, 'lease_owner = NULL', 'leased_until = NULL'].filter((part) => part !== '').join(', ')}
         WHERE id = $1 AND status = 'pending' AND lease_owner = $2 AND leased_until = $3 AND ${condition}
         RETURNING id`,
        [id, lease.owner, lease.until, ...values],
      )
      .map((rows) => rows.length > 0);
  }
}
