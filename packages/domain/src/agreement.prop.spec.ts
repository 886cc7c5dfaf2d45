import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type Agreement,
  type AgreementAction,
  agreementActions,
  applyAgreementAction,
  isFinal,
} from './agreement.ts';
import type { AgreementId, ContactId, PhoneNumberId, TenantId } from './ids.ts';

const lender = 'lender-0000-4000-8000-000000000001' as ContactId;
const borrower = 'borrower-000-4000-8000-000000000002' as ContactId;
const stranger = 'stranger-000-4000-8000-000000000003' as ContactId;
const at = new Date('2026-03-02T12:00:00Z');

const loan: Agreement = {
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

const act = (agreement: Agreement, who: ContactId, action: AgreementAction) =>
  applyAgreementAction(agreement, who, action, at);

describe('agreement lifecycle', () => {
  test.prop(
    [
      fc.array(
        fc.record({
          who: fc.constantFrom(lender, borrower, stranger),
          action: fc.constantFrom(...agreementActions),
        }),
        { maxLength: 12 },
      ),
    ],
    { numRuns: 1000 },
  )('never leaves a final state, and only the lender ends an active loan', (steps) => {
    let current = loan;
    for (const { who, action } of steps) {
      const result = act(current, who, action);
      if (result.isErr()) continue;
      const next = result.value;
      if (isFinal(current.status)) throw new Error('a final loan changed');
      if (current.status === 'active' && isFinal(next.status)) expect(who).toBe(lender);
      if (next.status === 'active' && current.status === 'pending_confirmation') expect(who).toBe(borrower);
      current = next;
    }
  });
});
