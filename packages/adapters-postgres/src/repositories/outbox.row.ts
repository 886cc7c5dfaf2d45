import type { ClaimedSend, NewOutboxEntry, OutboxEntry } from '@prestabot/application';
import {
  type ContactId,
  type PhoneNumberId,
  recipientKeyOf,
  type TenantId,
  type Wamid,
} from '@prestabot/domain';
import * as z from 'zod';
import { branded, lease, present, storedTime } from '../sql/column-types.ts';
import { failure, origin, outboundMessage, recipient } from '../sql/jsonb-codecs.ts';
import { storedTokenColumns, storedTokenOf } from './number.row.ts';

// The outbox's rows (`prestabot.outbox`, and `prestabot.claimed_send` for a claim): what is written for a
// new entry, and the schemas that read entries and claimed sends back.

export const outboxColumns = {
  id: z.string(),
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  recipient: recipient.nullable(),
  contact_id: branded<ContactId>().nullable(),
  message: outboundMessage,
  reply_to: branded<Wamid>().nullable(),
  origin,
  idempotency_key: z.string().nullable(),
  priority: z.number().int(),
  not_before: storedTime,
  created_at: storedTime,
  status: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  wamid: branded<Wamid>().nullable(),
  last_failure: failure.nullable(),
  fallback: outboundMessage.nullable(),
  limit_held_at: storedTime.nullable(),
};

export const outboxEntryOf = (row: z.output<z.ZodObject<typeof outboxColumns>>): OutboxEntry => ({
  id: row.id,
  tenantId: row.tenant_id,
  phoneNumberId: row.phone_number_id,
  message: row.message,
  origin: row.origin,
  priority: row.priority,
  notBefore: row.not_before,
  createdAt: row.created_at,
  status: row.status,
  attempts: row.attempts,
  ...present('recipient', row.recipient),
  ...present('idempotencyKey', row.idempotency_key),
  ...present('contactId', row.contact_id),
  ...present('replyTo', row.reply_to),
  ...present('wamid', row.wamid),
  ...present('lastFailure', row.last_failure),
  ...present('fallback', row.fallback),
  ...present('limitHeldAt', row.limit_held_at),
});

export const outboxRow = z.object(outboxColumns).transform(outboxEntryOf);

/** A row of `prestabot.claimed_send`: a leased message, its slot, and its number's sealed token. */
export const claimedSendRow = z
  .object({
    ...outboxColumns,
    ...lease,
    ...storedTokenColumns,
    send_at: storedTime,
    slot_allowance_ms: z.number().int().nonnegative(),
    slot_misses: z.number().int().nonnegative(),
  })
  .transform(
    (row, context): ClaimedSend => ({
      ...outboxEntryOf(row),
      lease: { owner: row.lease_owner, until: row.leased_until },
      sendAt: row.send_at,
      slotAllowanceMs: row.slot_allowance_ms,
      slotMisses: row.slot_misses,
      token: storedTokenOf(row, context),
    }),
  );

/** A row of `prestabot.record_send_outcomes`. */
export const recordedRow = z
  .object({ id: z.string(), recorded: z.boolean() })
  .transform((row) => row.recorded);

/** A row of `prestabot.messaging_limit_room`: NULL when the message would not be held at all. */
export const messagingLimitRoomRow = z
  .object({ room: z.number().int().nullable() })
  .transform((row) => row.room ?? undefined);

/** What `OutboxStore.enqueue` writes for a new entry: the columns the read schemas above read back. */
export const outboxColumnsOf = (entry: NewOutboxEntry) => ({
  id: entry.id,
  phone_number_id: entry.phoneNumberId,
  recipient: entry.recipient ?? null,
  recipient_key: entry.recipient === undefined ? null : recipientKeyOf(entry.recipient),
  contact_id: entry.contactId ?? null,
  message: entry.message,
  fallback: entry.fallback ?? null,
  reply_to: entry.replyTo ?? null,
  origin: entry.origin,
  idempotency_key: entry.idempotencyKey ?? null,
  priority: entry.priority,
  not_before: entry.notBefore,
  created_at: entry.createdAt,
});
