import {
  type AgreementAction,
  type AgreementId,
  applyAgreementAction,
  availableActions,
  buttonsMessage,
  type Contact,
  isFinal,
  type OutboundMessage,
  ok,
  okAsync,
  partyOf,
  planReminders,
  type ResultAsync,
  safeTry,
  type Tenant,
  textMessage,
  type WhatsAppNumber,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { type Catalog, catalogFor } from '../texts/catalog.ts';
import { type LoanParties, loadParties, templateValuesOf } from './loan-facts.ts';
import { loanButtonId } from './loan-ids.ts';
import type { NewReminder } from './loan-stores.port.ts';
import {
  type Notice,
  type NoticeOutcome,
  type Notifier,
  noticePriority,
  undeliveredNote,
} from './notifier.ts';
import { alreadyDone } from './refusals.ts';

/** Who acts, where, and when. */
export type ActionContext = {
  readonly tenant: Tenant;
  readonly number: WhatsAppNumber;
  readonly actor: Contact;
  readonly now: Date;
};

const text = (body: string) => built(textMessage(body));

/** Buttons for the actions a party may take on a loan (at most three, as WhatsApp allows). */
export const actionButtons = (
  texts: Catalog,
  agreementId: AgreementId,
  actions: readonly AgreementAction[],
  body: string,
): OutboundMessage =>
  built(
    buttonsMessage({
      body,
      buttons: actions
        .slice(0, 3)
        .map((action) => ({ id: loanButtonId(agreementId, action), title: texts.actions.labels[action] })),
    }),
  );

/**
 * Everything either party can do to a loan, from a button or typed text: confirm or reject it, mark or
 * claim it returned, cancel it, remind. Every action names the loan it acts on; the other party is told,
 * and the reminders follow the loan (planned when it becomes active, cancelled when it ends).
 */
export class LoanActions {
  readonly #deps: { readonly notifier: Notifier; readonly ids: IdGenerator; readonly clock: Clock };

  constructor(dependencies: {
    readonly notifier: Notifier;
    readonly ids: IdGenerator;
    readonly clock: Clock;
  }) {
    this.#deps = dependencies;
  }

  /** The replies to the actor; notices to the other party are queued on the way. */
  perform(
    context: ActionContext,
    agreementId: AgreementId,
    action: AgreementAction,
    repositories: TenantRepositories,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const self = this;
    const texts = catalogFor(context.tenant.locale);
    return safeTry(async function* () {
      const agreement = yield* repositories.agreements.get(agreementId);
      const parties =
        agreement === undefined ? undefined : yield* loadParties(agreement, context.tenant, repositories);
      if (
        agreement === undefined ||
        parties === undefined ||
        partyOf(agreement, context.actor.id) === undefined
      )
        return ok([text(texts.actions.notFound)]);
      const changed = applyAgreementAction(agreement, context.actor.id, action, context.now);
      if (changed.isErr())
        return ok([text(alreadyDone(agreement, texts, context.tenant) ?? texts.actions.notAllowed)]);
      const saved = yield* repositories.agreements.update(changed.value, agreement.status);
      if (!saved) return ok([text(texts.actions.notAllowed)]);
      const updated: LoanParties = { ...parties, agreement: changed.value };
      if (isFinal(changed.value.status))
        yield* repositories.reminders.cancelPending(agreementId, `loan ${changed.value.status}`);
      if (action === 'accept') yield* self.#planReminders(context, updated, repositories);
      return ok(yield* self.#effects(context, updated, action, repositories));
    });
  }

  /** Sends the borrower the request to confirm a loan, with buttons bound to it. */
  requestConfirmation(
    context: ActionContext,
    parties: LoanParties,
    repositories: TenantRepositories,
  ): ResultAsync<NoticeOutcome, StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const body = texts.confirmation.request(parties.facts);
    return this.#deps.notifier.send(
      {
        to: parties.borrower,
        phoneNumberId: parties.agreement.phoneNumberId,
        message: actionButtons(texts, parties.agreement.id, ['accept', 'reject'], body),
        template: {
          purpose: 'loan_confirmation_request',
          values: templateValuesOf(parties.facts, body),
          agreementId: parties.agreement.id,
        },
        idempotencyKey: `confirmation-request:${parties.agreement.id}:${context.now.getTime()}`,
        origin: { kind: 'notification', agreementId: parties.agreement.id },
        priority: noticePriority,
      },
      context.tenant,
      repositories,
    );
  }

  #planReminders(
    context: ActionContext,
    parties: LoanParties,
    repositories: TenantRepositories,
  ): ResultAsync<unknown, StorageError> {
    const { agreement } = parties;
    const planned = planReminders({
      dueDate: agreement.dueDate,
      timeZone: context.tenant.timezone,
      sendHour: context.tenant.settings.reminderSendHour,
      now: context.now,
    });
    // Stored settings are validated on the way in and on the way out: a bad send hour here is a bug.
    if (planned.isErr()) throw new Error(`tenant ${context.tenant.id} has an invalid reminder send hour`);
    const plan: NewReminder[] = planned.value.map((reminder) => ({
      id: this.#deps.ids.uuid(),
      agreementId: agreement.id,
      kind: reminder.kind,
      localDate: reminder.localDate,
      scheduledAt: reminder.scheduledAt,
      recipientId: reminder.recipient === 'lender' ? agreement.lenderId : agreement.borrowerId,
    }));
    return repositories.reminders.replacePlan(agreement.id, plan);
  }

  #effects(
    context: ActionContext,
    parties: LoanParties,
    action: AgreementAction,
    repositories: TenantRepositories,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const { facts, agreement, lender, borrower } = parties;
    const notify = (
      to: Contact,
      message: OutboundMessage,
      body: string,
      purpose: Notice['template']['purpose'] = 'loan_update',
    ) =>
      this.#deps.notifier.send(
        {
          to,
          phoneNumberId: agreement.phoneNumberId,
          message,
          template: { purpose, values: templateValuesOf(facts, body), agreementId: agreement.id },
          idempotencyKey: `${action}:${agreement.id}:${context.now.getTime()}`,
          origin: { kind: 'notification', agreementId: agreement.id },
          priority: noticePriority,
        },
        context.tenant,
        repositories,
      );
    const tell = (
      to: Contact,
      body: string,
      buttons: readonly AgreementAction[] = [],
      purpose?: Notice['template']['purpose'],
    ) =>
      notify(
        to,
        buttons.length === 0 ? text(body) : actionButtons(texts, agreement.id, buttons, body),
        body,
        purpose,
      );
    /** The actor's reply, plus a line when the other party could not be told. */
    const replyAnd = (reply: string, outcome: ResultAsync<NoticeOutcome, StorageError>, other: Contact) =>
      outcome.map((sent) => [
        text(reply),
        ...undeliveredNote(sent, other === lender ? facts.lender : facts.borrower, texts),
      ]);
    switch (action) {
      case 'accept':
        return replyAnd(
          texts.confirmation.acceptedToBorrower(facts),
          tell(lender, texts.confirmation.acceptedToLender(facts)),
          lender,
        );
      case 'reject':
        return replyAnd(
          texts.confirmation.rejectedToBorrower(facts),
          tell(lender, texts.confirmation.rejectedToLender(facts)),
          lender,
        );
      // The lender marking it returned, or confirming the borrower's claim, ends the loan the same way.
      case 'mark_returned':
      case 'confirm_return':
        return replyAnd(
          texts.actions.markedReturnedToLender(facts),
          tell(borrower, texts.actions.markedReturnedToBorrower(facts)),
          borrower,
        );
      case 'claim_returned':
        return replyAnd(
          texts.actions.claimSentToBorrower(facts),
          tell(
            lender,
            texts.actions.claimToLender(facts),
            ['confirm_return', 'deny_return'],
            'loan_return_claim',
          ),
          lender,
        );
      case 'deny_return':
        return replyAnd(
          texts.actions.returnDeniedToLender(facts),
          tell(borrower, texts.actions.returnDeniedToBorrower(facts), ['claim_returned']),
          borrower,
        );
      case 'cancel':
        return replyAnd(
          texts.actions.cancelledToLender(facts),
          tell(borrower, texts.actions.cancelledToBorrower(facts)),
          borrower,
        );
      case 'remind':
        if (agreement.status === 'pending_confirmation') {
          return replyAnd(
            texts.actions.requestResent(facts),
            this.requestConfirmation(context, parties, repositories),
            borrower,
          );
        }
        return replyAnd(
          texts.actions.reminderSent(facts),
          tell(borrower, texts.reminders.manual(facts), ['claim_returned'], 'loan_reminder'),
          borrower,
        );
    }
  }

  /** A loan's details and what the viewer may do with it now. */
  view(
    context: ActionContext,
    agreementId: AgreementId,
    repositories: TenantRepositories,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const texts = catalogFor(context.tenant.locale);
    return repositories.agreements.get(agreementId).andThen((agreement) => {
      const party = agreement === undefined ? undefined : partyOf(agreement, context.actor.id);
      if (agreement === undefined || party === undefined) return okAsync([text(texts.actions.notFound)]);
      return loadParties(agreement, context.tenant, repositories).map((parties) => {
        if (parties === undefined) return [text(texts.actions.notFound)];
        const status =
          texts.myLoans.status[
            agreement.returnClaimedAt !== undefined && agreement.status === 'active'
              ? 'return_claimed'
              : agreement.status
          ];
        const body = texts.myLoans.detail({ ...parties.facts, status, youAre: party });
        const actions = availableActions(agreement, party);
        return [
          actions.length === 0
            ? text(`${body}\n\n${texts.myLoans.noActions}`)
            : actionButtons(texts, agreement.id, actions, body),
        ];
      });
    });
  }
}
