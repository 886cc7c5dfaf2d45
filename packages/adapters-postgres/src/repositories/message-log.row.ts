import type { ContactId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, present, storedTime } from '../sql/column-types.ts';
import { deliveryStatus, origin } from '../sql/jsonb-codecs.ts';

// The message log's rows (`prestabot.messages`): an outbound message's status; and a contact's last inbound
// message to a number (`prestabot.customer_service_windows`).

export const outboundStatusRow = z
  .object({
    status: deliveryStatus,
    outbox_id: z.string(),
    origin,
    contact_id: branded<ContactId>().nullable(),
    error_code: z.number().int().nullable(),
    error_title: z.string().nullable(),
  })
  .transform((row) => ({
    current: row.status,
    outboxId: row.outbox_id,
    origin: row.origin,
    ...present('contactId', row.contact_id),
    ...present(
      'error',
      row.error_code === null ? null : { code: row.error_code, ...present('title', row.error_title) },
    ),
  }));

export const lastInboundRow = z
  .object({ last_inbound_at: storedTime })
  .transform((row) => row.last_inbound_at);
