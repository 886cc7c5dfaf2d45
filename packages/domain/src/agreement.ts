import type { LocalDate } from './calendar.ts';
import type { AgreementId, ContactId, PhoneNumberId, TenantId } from './ids.ts';
import type { Money } from './money.ts';
import { err, ok, type Result } from './result.ts';

/** `pending_confirmation → active → returned`, or `rejected` / `cancelled`. The last three are final. */
export type AgreementStatus = 'pending_confirmation' | 'active' | 'returned' | 'rejected' | 'cancelled';

export type LoanSubject =
  | { readonly kind: 'money'; readonly amount: Money }
  | { readonly kind: 'object'; readonly description: string };

/** A loan between two contacts of one tenant. The lender records it; the borrower confirms it. */
export type Agreement = {
  readonly id: AgreementId;
  readonly tenantId: TenantId;
  /** The number the loan was recorded on: its requests, notices and reminders come from it. */
  readonly phoneNumberId: PhoneNumberId;
  readonly lenderId: ContactId;
  readonly borrowerId: ContactId;
  readonly subject: LoanSubject;
  readonly dueDate: LocalDate;
  readonly status: AgreementStatus;
  readonly createdAt: Date;
  readonly confirmedAt?: Date;
  /** The borrower said they gave it back; the lender has yet to confirm. */
  readonly returnClaimedAt?: Date;
  readonly closedAt?: Date;
  /** The lender's last manual reminder (or confirmation request sent again): the next waits a day. */
  readonly lastRemindedAt?: Date;
};

/** A lender may remind by hand once a day: more would let anyone flood a borrower through the bot. */
export const manualReminderIntervalMs = 24 * 60 * 60 * 1000;

export type Party = 'lender' | 'borrower';

export type AgreementAction =
  | 'accept'
  | 'reject'
  | 'mark_returned'
  | 'claim_returned'
  | 'confirm_return'
  | 'deny_return'
  | 'cancel'
  | 'remind';

export const agreementActions: readonly AgreementAction[] = [
  'accept',
  'reject',
  'mark_returned',
  'claim_returned',
  'confirm_return',
  'deny_return',
  'cancel',
  'remind',
];

export type AgreementActionError =
  | { readonly type: 'not_a_party'; readonly agreementId: AgreementId }
  /** A manual reminder too soon after the last one; `nextAt` is when one is possible again. */
  | { readonly type: 'remind_too_soon'; readonly nextAt: Date }
  | {
      readonly type: 'action_not_allowed';
      readonly action: AgreementAction;
      readonly status: AgreementStatus;
      readonly party: Party;
    };

export const isFinal = (status: AgreementStatus): boolean =>
  status === 'returned' || status === 'rejected' || status === 'cancelled';

export const partyOf = (agreement: Agreement, contactId: ContactId): Party | undefined => {
  if (agreement.lenderId === contactId) return 'lender';
  if (agreement.borrowerId === contactId) return 'borrower';
  return undefined;
};

/** What each party may do with a loan right now: the buttons a person is offered. */
export const availableActions = (agreement: Agreement, party: Party): readonly AgreementAction[] => {
  switch (agreement.status) {
    case 'pending_confirmation':
      return party === 'borrower' ? ['accept', 'reject'] : ['remind', 'cancel'];
    case 'active':
      if (party === 'borrower') return agreement.returnClaimedAt === undefined ? ['claim_returned'] : [];
      return agreement.returnClaimedAt === undefined
        ? ['mark_returned', 'remind', 'cancel']
        : ['confirm_return', 'deny_return'];
    case 'returned':
    case 'rejected':
    case 'cancelled':
      return [];
  }
};

/** Applies an action by one party, if the loan's state allows it. `remind` only notes when it was sent. */
export const applyAgreementAction = (
  agreement: Agreement,
  contactId: ContactId,
  action: AgreementAction,
  at: Date,
): Result<Agreement, AgreementActionError> => {
  const party = partyOf(agreement, contactId);
  if (party === undefined) return err({ type: 'not_a_party', agreementId: agreement.id });
  if (!availableActions(agreement, party).includes(action)) {
    return err({ type: 'action_not_allowed', action, status: agreement.status, party });
  }
  const { returnClaimedAt: _claim, ...withoutClaim } = agreement;
  switch (action) {
    case 'accept':
      return ok({ ...agreement, status: 'active', confirmedAt: at });
    case 'reject':
      return ok({ ...agreement, status: 'rejected', closedAt: at });
    case 'mark_returned':
    case 'confirm_return':
      return ok({ ...withoutClaim, status: 'returned', closedAt: at });
    case 'claim_returned':
      return ok({ ...agreement, returnClaimedAt: at });
    case 'deny_return':
      return ok(withoutClaim);
    case 'cancel':
      return ok({ ...withoutClaim, status: 'cancelled', closedAt: at });
    case 'remind': {
      const nextAt =
        agreement.lastRemindedAt === undefined
          ? at
          : new Date(agreement.lastRemindedAt.getTime() + manualReminderIntervalMs);
      return at < nextAt
        ? err({ type: 'remind_too_soon', nextAt })
        : ok({ ...agreement, lastRemindedAt: at });
    }
  }
};
