import type {
  InboundRecord,
  MessageLog,
  OutboundRecord,
  StatusOutcome,
  StorageError,
} from '@prestabot/application';
import type { ContactId, GraphErrorDetail, PhoneNumberId, ResultAsync, Wamid } from '@prestabot/domain';
import { readOptionalRow } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { lastInboundRow, outboundStatusRow } from './message-log.row.ts';

export class PostgresMessageLog implements MessageLog {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /**
   * A returning contact's window is moved by a plain update: an upsert that meets the row locks it first,
   * one more WAL record per message. Only a first message inserts (and a race between two first messages
   * of one contact ends in the upsert).
   */
  recordInbound(record: InboundRecord): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `WITH moved AS (
           UPDATE prestabot.customer_service_windows w SET last_inbound_at = $3
           WHERE w.phone_number_id = $1 AND w.contact_id = $2 AND w.last_inbound_at < $3
         )
         INSERT INTO prestabot.customer_service_windows AS w (phone_number_id, contact_id, last_inbound_at)
         SELECT $1, $2, $3
         WHERE NOT EXISTS (
           SELECT 1 FROM prestabot.customer_service_windows e WHERE e.phone_number_id = $1 AND e.contact_id = $2)
         ON CONFLICT (tenant_id, phone_number_id, contact_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at
         WHERE w.last_inbound_at < excluded.last_inbound_at`,
        [record.phoneNumberId, record.contactId, record.sentAt],
      )
      .map(() => undefined);
  }

  lastInboundAt(
    phoneNumberId: PhoneNumberId,
    contactId: ContactId,
  ): ResultAsync<Date | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT last_inbound_at FROM prestabot.customer_service_windows
         WHERE phone_number_id = $1 AND contact_id = $2`,
        [phoneNumberId, contactId],
      )
      .andThen(readOptionalRow(lastInboundRow, 'customer service window'));
  }

  recordOutbound(record: OutboundRecord): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.messages
           (direction, wamid, phone_number_id, contact_id, type, accepted_at, status, status_at, outbox_id, origin)
         VALUES ('outbound', $1, $2, $3, $4, $5, 'accepted', $5, $6, $7::jsonb)
         ON CONFLICT (tenant_id, direction, wamid) DO NOTHING`,
        [
          record.wamid,
          record.phoneNumberId,
          record.contactId ?? null,
          record.type,
          record.acceptedAt,
          record.outboxId,
          JSON.stringify(record.origin),
        ],
      )
      .map(() => undefined);
  }

  outbound(
    wamid: Wamid,
  ): ResultAsync<(StatusOutcome & { readonly error?: GraphErrorDetail }) | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT status, outbox_id, origin, contact_id, error_code, error_title FROM prestabot.messages
         WHERE direction = 'outbound' AND wamid = $1`,
        [wamid],
      )
      .andThen(readOptionalRow(outboundStatusRow, 'outbound message'));
  }
}
