import {
  type Agreement,
  type AgreementId,
  type AgreementStatus,
  type ContactId,
  currencyCodes,
  type LoanSubject,
  type PhoneNumberId,
  type TenantId,
} from '@prestabot/domain';
import * as z from 'zod';
import { branded, present, storedDate, storedMinorUnits, storedTime } from '../sql/column-types.ts';

// The loans' rows (`prestabot.agreements`): the subject as kind and amount or description, dates as text.

/** A loan's columns: its subject as kind and amount (money) or description (an object), dates as text. */
export const agreementColumnsSql =
  'id, tenant_id, phone_number_id, lender_contact_id, borrower_contact_id, kind, amount_minor::text AS amount_minor, currency, description, due_date::text AS due_date, status, created_at, confirmed_at, return_claimed_at, closed_at, last_reminded_at';

export const agreementColumns = {
  id: branded<AgreementId>(),
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  lender_contact_id: branded<ContactId>(),
  borrower_contact_id: branded<ContactId>(),
  due_date: storedDate,
  status: z.enum([
    'pending_confirmation',
    'active',
    'returned',
    'rejected',
    'cancelled',
  ]) satisfies z.ZodType<AgreementStatus>,
  created_at: storedTime,
  confirmed_at: storedTime.nullable(),
  return_claimed_at: storedTime.nullable(),
  closed_at: storedTime.nullable(),
  last_reminded_at: storedTime.nullable(),
};

export const agreementRow = z
  .discriminatedUnion('kind', [
    z.object({
      ...agreementColumns,
      kind: z.literal('money'),
      amount_minor: storedMinorUnits,
      currency: z.enum(currencyCodes),
    }),
    z.object({ ...agreementColumns, kind: z.literal('object'), description: z.string() }),
  ])
  .transform(
    (row): Agreement => ({
      id: row.id,
      tenantId: row.tenant_id,
      phoneNumberId: row.phone_number_id,
      lenderId: row.lender_contact_id,
      borrowerId: row.borrower_contact_id,
      subject:
        row.kind === 'money'
          ? { kind: 'money', amount: { minor: row.amount_minor, currency: row.currency } }
          : { kind: 'object', description: row.description },
      dueDate: row.due_date,
      status: row.status,
      createdAt: row.created_at,
      ...present('confirmedAt', row.confirmed_at),
      ...present('returnClaimedAt', row.return_claimed_at),
      ...present('closedAt', row.closed_at),
      ...present('lastRemindedAt', row.last_reminded_at),
    }),
  );

/** A loan's subject as its columns: kind, amount_minor, currency, description. */
export const subjectColumnsOf = (
  subject: LoanSubject,
): readonly [string, number | null, string | null, string | null] =>
  subject.kind === 'money'
    ? [subject.kind, subject.amount.minor, subject.amount.currency, null]
    : [subject.kind, null, null, subject.description];
