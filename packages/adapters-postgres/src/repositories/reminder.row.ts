import type { ClaimedReminder, Reminder } from '@prestabot/application';
import { type AgreementId, type ContactId, reminderRules, type TenantId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, lease, present, storedDate, storedTime } from '../sql/column-types.ts';
import { deliveryStatus } from '../sql/jsonb-codecs.ts';

// The reminders' rows (`prestabot.reminders`), claimed, replaced and delivered.

export const reminderColumnsSql =
  'id, agreement_id, kind, local_date::text AS local_date, scheduled_at, recipient_contact_id, status, outbox_id, reason, delivery';

export const reminderColumns = {
  id: z.string(),
  agreement_id: branded<AgreementId>(),
  kind: z.enum(reminderRules.map((rule) => rule.kind)),
  local_date: storedDate,
  scheduled_at: storedTime,
  recipient_contact_id: branded<ContactId>(),
  status: z.enum(['pending', 'queued', 'cancelled', 'skipped']),
  outbox_id: z.string().nullable(),
  reason: z.string().nullable(),
  delivery: deliveryStatus.nullable(),
};

export const reminderOf = (row: z.output<z.ZodObject<typeof reminderColumns>>): Reminder => ({
  id: row.id,
  agreementId: row.agreement_id,
  kind: row.kind,
  localDate: row.local_date,
  scheduledAt: row.scheduled_at,
  recipientId: row.recipient_contact_id,
  status: row.status,
  ...present('outboxId', row.outbox_id),
  ...present('reason', row.reason),
  ...present('delivery', row.delivery),
});

export const reminderRow = z.object(reminderColumns).transform(reminderOf);

export const claimedReminderRow = z
  .object({ ...reminderColumns, tenant_id: branded<TenantId>(), attempts: z.number().int(), ...lease })
  .transform(
    (row): ClaimedReminder => ({
      ...reminderOf(row),
      tenantId: row.tenant_id,
      lease: { owner: row.lease_owner, until: row.leased_until },
      attempts: row.attempts,
    }),
  );

export const replacedPlanRow = z
  .object({ added: z.number().int(), cancelled: z.number().int(), agreement_found: z.boolean() })
  .transform((row) => ({
    added: row.added,
    cancelled: row.cancelled,
    agreementFound: row.agreement_found,
  }));

/** Where a reminder's message is: NULL until its first delivery status. */
export const reminderDeliveryRow = z.object({ delivery: deliveryStatus.nullable() });
