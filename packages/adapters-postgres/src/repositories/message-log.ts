import type {
  InboundRecord,
  MessageLog,
  OutboundRecord,
  StatusChange,
  StatusOutcome,
  StorageError,
} from '@prestabot/application';
import {
  advanceStatus,
  type ContactId,
  isStatusAdvance,
  okAsync,
  type PhoneNumberId,
  type ResultAsync,
} from '@prestabot/domain';
import { lastInboundRow, outboundStatusRow, readOptionalRow } from '../rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';

export class PostgresMessageLog implements MessageLog {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  recordInbound(record: InboundRecord): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.messages (direction, wamid, phone_number_id, contact_id, type, sent_at)
         VALUES ('inbound', $1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, direction, wamid) DO NOTHING`,
        [record.wamid, record.phoneNumberId, record.contactId, record.type, record.sentAt],
      )
      .map(() => undefined);
  }

  lastInboundAt(
    phoneNumberId: PhoneNumberId,
    contactId: ContactId,
  ): ResultAsync<Date | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT max(sent_at) AS last_at FROM prestabot.messages
         WHERE direction = 'inbound' AND phone_number_id = $1 AND contact_id = $2`,
        [phoneNumberId, contactId],
      )
      .andThen(readOptionalRow(lastInboundRow, 'last inbound'));
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

  /** The row is locked while the domain's status order decides; it only ever moves forward. */
  applyStatus(change: StatusChange): ResultAsync<StatusOutcome | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT status, outbox_id, origin, contact_id FROM prestabot.messages
         WHERE direction = 'outbound' AND wamid = $1
         FOR UPDATE`,
        [change.wamid],
      )
      .andThen(readOptionalRow(outboundStatusRow, 'outbound message'))
      .andThen((stored) => {
        if (stored === undefined) return okAsync(undefined);
        const { status: previous, ...message } = stored;
        const outcome: StatusOutcome = {
          previous,
          current: advanceStatus(previous, change.status),
          ...message,
        };
        if (!isStatusAdvance(previous, change.status)) return okAsync(outcome);
        const firstError = outcome.current === 'failed' ? change.errors[0] : undefined;
        return this.#session
          .query(
            `UPDATE prestabot.messages
             SET status = $2, status_at = $3, error_code = coalesce($4, error_code), error_title = coalesce($5, error_title)
             WHERE direction = 'outbound' AND wamid = $1`,
            [change.wamid, outcome.current, change.at, firstError?.code ?? null, firstError?.title ?? null],
          )
          .map(() => outcome);
      });
  }
}
