import {
  type AgreementAction,
  type Contact,
  type OutboundMessage,
  textMessage,
  type WhatsAppNumber,
} from '@prestabot/domain';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { Catalog } from '../texts/catalog.ts';
import type { LoanParties } from './loan-facts.ts';
import type { TemplatePurpose } from './loan-stores.port.ts';
import { type NoticeOutcome, undeliveredNote, withNote } from './notifier.ts';

/** What a loan asks one of its parties right now, and who is waiting for the answer. */
export type OpenRequest = {
  readonly to: Contact;
  readonly toName: string;
  readonly from: Contact;
  readonly fromName: string;
  readonly body: string;
  readonly buttons: readonly AgreementAction[];
  readonly purpose: TemplatePurpose;
};

/** A pending loan asks its borrower to confirm it; a claimed return asks its lender to confirm that. */
export const openRequestOf = (parties: LoanParties, texts: Catalog): OpenRequest | undefined => {
  const { agreement, lender, borrower, facts } = parties;
  if (agreement.status === 'pending_confirmation')
    return {
      to: borrower,
      toName: facts.borrower,
      from: lender,
      fromName: facts.lender,
      body: texts.confirmation.request(facts),
      buttons: ['accept', 'reject'],
      purpose: 'loan_confirmation_request',
    };
  if (agreement.status === 'active' && agreement.returnClaimedAt !== undefined)
    return {
      to: lender,
      toName: facts.lender,
      from: borrower,
      fromName: facts.borrower,
      body: texts.actions.claimToLender(facts),
      buttons: ['confirm_return', 'deny_return'],
      purpose: 'loan_return_claim',
    };
  return undefined;
};

/** A link that opens a chat with the tenant's number, the greeting typed: no template needed to start. */
export const chatLinkOf = (number: WhatsAppNumber, texts: Catalog): string | undefined =>
  number.displayPhoneNumber === undefined
    ? undefined
    : `https://wa.me/${number.displayPhoneNumber.replace(/\D/g, '')}?text=${encodeURIComponent(texts.requestHeld.opener)}`;

/**
 * The one reply to whoever asked: `sentReply` when the request went (noting it if it waits behind the
 * messaging limit), or `heldReply` with why it waits for the other party to write.
 */
export const requestReply = (
  outcome: NoticeOutcome,
  otherName: string,
  number: WhatsAppNumber,
  texts: Catalog,
  replies: { readonly sent: string; readonly held: (note: string) => string },
): OutboundMessage => {
  const held = heldNote(outcome, otherName, number, texts);
  return held === undefined
    ? withNote(replies.sent, undeliveredNote(outcome, otherName, texts))
    : built(textMessage(replies.held(held)));
};

/**
 * For the person who asked: why their request waits for the other party to write, and a link to pass
 * on; undefined when it was sent. A notice that was not sent is held (see `LoanActions.sendRequest`).
 */
export const heldNote = (
  outcome: NoticeOutcome,
  otherName: string,
  number: WhatsAppNumber,
  texts: Catalog,
): string | undefined => {
  if (outcome.kind !== 'skipped' || outcome.reason === 'no_recipient') return undefined;
  const link = chatLinkOf(number, texts);
  return outcome.reason === 'opted_out'
    ? texts.requestHeld.optedOut(otherName, link)
    : texts.requestHeld.noWindow(otherName, link);
};
