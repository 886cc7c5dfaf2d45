import { describe, expect, it } from 'vitest';
import { act, at, borrower, lender, loan, stranger } from './agreement.fixture.ts';
import {
  agreementActions,
  applyAgreementAction,
  availableActions,
  manualReminderIntervalMs,
} from './agreement.ts';

describe('agreement lifecycle', () => {
  it('is confirmed or rejected by the borrower only', () => {
    expect(act(loan, borrower, 'accept')._unsafeUnwrap()).toMatchObject({
      status: 'active',
      confirmedAt: at,
    });
    expect(act(loan, borrower, 'reject')._unsafeUnwrap()).toMatchObject({ status: 'rejected', closedAt: at });
    expect(act(loan, lender, 'accept')._unsafeUnwrapErr()).toEqual({
      type: 'action_not_allowed',
      action: 'accept',
      status: 'pending_confirmation',
      party: 'lender',
    });
    expect(act(loan, stranger, 'accept')._unsafeUnwrapErr()).toEqual({
      type: 'not_a_party',
      agreementId: loan.id,
    });
  });

  it('is returned when the lender says so, directly or after the borrower claims it', () => {
    const active = act(loan, borrower, 'accept')._unsafeUnwrap();
    expect(act(active, lender, 'mark_returned')._unsafeUnwrap().status).toBe('returned');
    expect(act(active, borrower, 'mark_returned').isErr()).toBe(true);
    const claimed = act(active, borrower, 'claim_returned')._unsafeUnwrap();
    expect(claimed.status).toBe('active');
    expect(availableActions(claimed, 'lender')).toEqual(['confirm_return', 'deny_return']);
    expect(availableActions(claimed, 'borrower')).toEqual([]);
    const confirmed = act(claimed, lender, 'confirm_return')._unsafeUnwrap();
    expect(confirmed).toMatchObject({ status: 'returned', closedAt: at });
    expect(confirmed.returnClaimedAt).toBeUndefined();
    const denied = act(claimed, lender, 'deny_return')._unsafeUnwrap();
    expect(denied.status).toBe('active');
    expect(denied.returnClaimedAt).toBeUndefined();
  });

  it('is reminded by hand at most once per interval, and says when the next reminder is possible', () => {
    const reminded = act(loan, lender, 'remind')._unsafeUnwrap();
    expect(reminded).toMatchObject({ status: 'pending_confirmation', lastRemindedAt: at });
    const soon = new Date(at.getTime() + manualReminderIntervalMs - 1);
    expect(applyAgreementAction(reminded, lender, 'remind', soon)._unsafeUnwrapErr()).toEqual({
      type: 'remind_too_soon',
      nextAt: new Date(at.getTime() + manualReminderIntervalMs),
    });
    const later = new Date(at.getTime() + manualReminderIntervalMs);
    expect(applyAgreementAction(reminded, lender, 'remind', later)._unsafeUnwrap().lastRemindedAt).toEqual(
      later,
    );
    expect(manualReminderIntervalMs).toBe(24 * 60 * 60 * 1000);
  });

  it('can be cancelled by the lender while open, and then nothing more happens', () => {
    const cancelled = act(loan, lender, 'cancel')._unsafeUnwrap();
    expect(cancelled.status).toBe('cancelled');
    for (const action of agreementActions) {
      expect(act(cancelled, lender, action).isErr()).toBe(true);
      expect(act(cancelled, borrower, action).isErr()).toBe(true);
    }
  });
});
