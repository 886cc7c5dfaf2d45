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

  recordInbound(record: InboundRecord): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.customer_service_windows AS w (phone_number_id, contact_id, last_inbound_at)
         VALUES ($1, $2, $3)
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
