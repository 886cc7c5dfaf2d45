import {
  type Agreement,
  type AgreementId,
  type ContactId,
  compareLocalDates,
  errAsync,
  isFinal,
  okAsync,
  type TenantId,
} from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { AgreementStore } from '../../loans/loan-stores.port.ts';
import { ownNumber } from './number-store.ts';
import { duplicate, type State } from './state.ts';

export const ownAgreement = (tenantId: TenantId, state: State, id: AgreementId): Agreement | undefined => {
  const agreement = state.agreements.get(id);
  return agreement?.tenantId === tenantId ? agreement : undefined;
};

export const agreementStore = (tenantId: TenantId, state: State): AgreementStore => ({
  create: (agreement) => {
    if (agreement.tenantId !== tenantId)
      return errAsync(storageError('constraint', 'an agreement belongs to the scoped tenant'));
    const ownContact = (id: ContactId) => state.contacts.get(id)?.tenantId === tenantId;
    if (
      !ownContact(agreement.lenderId) ||
      !ownContact(agreement.borrowerId) ||
      ownNumber(tenantId, state, agreement.phoneNumberId) === undefined
    ) {
      return errAsync(
        storageError('constraint', "an agreement may only refer to its tenant's contacts and numbers"),
      );
    }
    if (state.agreements.has(agreement.id)) return errAsync(duplicate(`agreement ${agreement.id} exists`));
    state.agreements.set(agreement.id, agreement);
    return okAsync(undefined);
  },
  get: (id) => okAsync(ownAgreement(tenantId, state, id)),
  listFor: (contactId, limit) => {
    const mine = [...state.agreements.peekValues()].filter(
      (agreement) =>
        agreement.tenantId === tenantId &&
        (agreement.lenderId === contactId || agreement.borrowerId === contactId),
    );
    const open = mine
      .filter((agreement) => !isFinal(agreement.status))
      .sort(
        (a, b) => compareLocalDates(a.dueDate, b.dueDate) || a.createdAt.getTime() - b.createdAt.getTime(),
      );
    const closed = mine
      .filter((agreement) => isFinal(agreement.status))
      .sort((a, b) => (b.closedAt ?? b.createdAt).getTime() - (a.closedAt ?? a.createdAt).getTime());
    return okAsync([...open, ...closed].slice(0, limit));
  },
  pendingFor: (borrowerId) =>
    okAsync(
      [...state.agreements.peekValues()]
        .filter(
          (agreement) =>
            agreement.tenantId === tenantId &&
            agreement.borrowerId === borrowerId &&
            agreement.status === 'pending_confirmation',
        )
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
    ),
  update: (agreement, expected) => {
    const stored = ownAgreement(tenantId, state, agreement.id);
    if (stored === undefined || stored.status !== expected) return okAsync(false);
    state.agreements.set(agreement.id, agreement);
    state.heldRequests.delete(agreement.id);
    return okAsync(true);
  },
  holdRequest: (id, at) => {
    if (ownAgreement(tenantId, state, id) !== undefined && !state.heldRequests.has(id))
      state.heldRequests.set(id, at);
    return okAsync(undefined);
  },
  takeHeldRequests: (contactId) => {
    const held = [...state.heldRequests.keys()]
      .map((id) => ({ agreement: ownAgreement(tenantId, state, id), heldAt: state.heldRequests.get(id)! }))
      .filter(
        (row): row is { agreement: Agreement; heldAt: Date } =>
          row.agreement !== undefined && asksNow(row.agreement, contactId),
      )
      .sort((a, b) => a.heldAt.getTime() - b.heldAt.getTime() || (a.agreement.id < b.agreement.id ? -1 : 1));
    for (const { agreement } of held) state.heldRequests.delete(agreement.id);
    return okAsync(held.map(({ agreement }) => agreement));
  },
});

/** The loan's open request asks this contact: to confirm it as borrower, or to confirm its return as lender. */
const asksNow = (agreement: Agreement, contactId: ContactId): boolean =>
  agreement.status === 'pending_confirmation'
    ? agreement.borrowerId === contactId
    : agreement.status === 'active' &&
      agreement.returnClaimedAt !== undefined &&
      agreement.lenderId === contactId;
