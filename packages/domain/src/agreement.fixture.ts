import { type Agreement, type AgreementAction, applyAgreementAction } from './agreement.ts';
import type { AgreementId, ContactId, PhoneNumberId, TenantId } from './ids.ts';

export const lender = 'lender-0000-4000-8000-000000000001' as ContactId;
export const borrower = 'borrower-000-4000-8000-000000000002' as ContactId;
export const stranger = 'stranger-000-4000-8000-000000000003' as ContactId;
export const at = new Date('2026-03-02T12:00:00Z');

/** A money loan waiting for the borrower's confirmation. */
export const loan: Agreement = {
  id: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' as AgreementId,
  tenantId: '3f2504e0-4f89-41d3-9a0c-0305e82c3302' as TenantId,
  phoneNumberId: '1001' as PhoneNumberId,
  lenderId: lender,
  borrowerId: borrower,
  subject: { kind: 'money', amount: { minor: 5000, currency: 'CLP' } },
  dueDate: { year: 2026, month: 3, day: 10 },
  status: 'pending_confirmation',
  createdAt: at,
};

export const act = (agreement: Agreement, who: ContactId, action: AgreementAction) =>
  applyAgreementAction(agreement, who, action, at);
