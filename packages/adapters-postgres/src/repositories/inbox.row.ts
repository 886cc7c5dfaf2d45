import type { ClaimedInboxEntry } from '@prestabot/application';
import type { ContactId, PhoneNumberId, TenantId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, lease, present, storedTime } from '../sql/column-types.ts';
import { deliveryStatus, inboxItem, origin } from '../sql/jsonb-codecs.ts';

// The inbox's rows: claimed entries, and what `store_webhook_items` and `apply_statuses` answer for each entry.

export const claimedInboxRow = z
  .object({
    id: z.string(),
    tenant_id: branded<TenantId>(),
    phone_number_id: branded<PhoneNumberId>(),
    delivery_key: z.string(),
    ordering_key: z.string().nullable(),
    item: inboxItem,
    received_at: storedTime,
    attempts: z.number().int(),
    ...lease,
  })
  .transform(
    (row): ClaimedInboxEntry => ({
      id: row.id,
      tenantId: row.tenant_id,
      phoneNumberId: row.phone_number_id,
      deliveryKey: row.delivery_key,
      item: row.item,
      receivedAt: row.received_at,
      attempts: row.attempts,
      lease: { owner: row.lease_owner, until: row.leased_until },
      ...present('orderingKey', row.ordering_key),
    }),
  );

/** A row of `prestabot.store_webhook_items`: what became of one entry. */
export const storedInboxRow = z.object({
  id: z.string(),
  tenant_id: branded<TenantId>().nullable(),
  outcome: z.enum(['stored', 'applied', 'duplicate', 'unrouted']),
  leased_until: storedTime.nullable(),
});

/** A row of `prestabot.apply_statuses`: what became of one status entry. */
export const appliedStatusRow = z.object({
  entry_id: z.string(),
  result: z.enum(['completed', 'follow_up', 'unknown', 'lease_lost']),
  status: deliveryStatus.nullable(),
  outbox_id: z.string().nullable(),
  origin: origin.nullable(),
  contact_id: branded<ContactId>().nullable(),
});
