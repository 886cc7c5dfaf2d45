import {
  type Agreement,
  type AgreementAction,
  type AgreementId,
  applyAgreementAction,
  availableActions,
  buttonsMessage,
  type Contact,
  isFinal,
  localTimeOf,
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
import { formatLocalDate, type LoanParties, loadParties, templateValuesOf } from './loan-facts.ts';
import { loanButtonId } from './loan-ids.ts';
import type { NewReminder, TemplatePurpose } from './loan-stores.port.ts';
import { type NoticeOutcome, type Notifier, noticePriority, undeliveredNote, withNote } from './notifier.ts';
import { alreadyDone } from './refusals.ts';
import { heldNote, openRequestOf, requestReply } from './requests.ts';

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
        return ok([
          text(
            changed.error.type === 'remind_too_soon'
              ? remindTooSoon(texts, context.tenant, changed.error.nextAt)
              : (alreadyDone(agreement, texts, context.tenant) ?? texts.actions.notAllowed),
          ),
        ]);
      const saved = yield* repositories.agreements.update(changed.value, agreement.status);
      if (!saved) return ok([text(texts.actions.notAllowed)]);
      const updated: LoanParties = { ...parties, agreement: changed.value };
      if (isFinal(changed.value.status))
        yield* repositories.reminders.cancelPending(agreementId, `loan ${changed.value.status}`);
      if (action === 'accept') yield* self.#planReminders(context, updated, repositories);
      return ok(yield* self.#effects(context, updated, action, repositories));
    });
  }

  /**
   * Sends the loan's open request (the borrower's confirmation, or the lender's "did you get it back?") to
   * the person it asks, with buttons bound to the loan. When it cannot be sent, it is held: the person sees
   * it when they next write (`deliverHeld`).
   */
  sendRequest(
    context: ActionContext,
    parties: LoanParties,
    repositories: TenantRepositories,
  ): ResultAsync<NoticeOutcome, StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const { agreement } = parties;
    const request = openRequestOf(parties, texts);
    if (request === undefined)
      throw new Error(`loan ${agreement.id} asks nothing in status ${agreement.status}`);
    return this.#send(
      context,
      parties,
      request.to,
      actionButtons(texts, agreement.id, request.buttons, request.body),
      request.body,
      request.purpose,
      repositories,
    ).andThen((outcome) =>
      heldNote(outcome, request.toName, context.number, texts) === undefined
        ? okAsync(outcome)
        : repositories.agreements.holdRequest(agreement.id, context.now).map(() => outcome),
    );
  }

  /**
   * A request held for the actor, shown now that they write, with its buttons; the party who asked is
   * told once that it arrived. Nothing when the loan asks the actor nothing any more.
   */
  deliverHeld(
    context: ActionContext,
    agreement: Agreement,
    repositories: TenantRepositories,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const self = this;
    const texts = catalogFor(context.tenant.locale);
    return safeTry(async function* () {
      const parties = yield* loadParties(agreement, context.tenant, repositories);
      const request = parties === undefined ? undefined : openRequestOf(parties, texts);
      if (parties === undefined || request === undefined || request.to.id !== context.actor.id) return ok([]);
      const body = texts.requestDelivered(request.toName);
      yield* self.#send(context, parties, request.from, text(body), body, 'loan_update', repositories);
      return ok([actionButtons(texts, agreement.id, request.buttons, request.body)]);
    });
  }

  /** A notice about a loan to one of its parties; one per loan, purpose and moment. */
  #send(
    context: ActionContext,
    parties: LoanParties,
    to: Contact,
    message: OutboundMessage,
    body: string,
    purpose: TemplatePurpose,
    repositories: TenantRepositories,
  ): ResultAsync<NoticeOutcome, StorageError> {
    const { agreement, facts } = parties;
    return this.#deps.notifier.send(
      {
        to,
        phoneNumberId: agreement.phoneNumberId,
        message,
        template: { purpose, values: templateValuesOf(facts, body), agreementId: agreement.id },
        idempotencyKey: `${purpose}:${to.id}:${agreement.id}:${context.now.getTime()}`,
        origin: { kind: 'notification', agreementId: agreement.id },
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
      spreadKey: agreement.id,
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
    const nameOf = (contact: Contact) => (contact === lender ? facts.lender : facts.borrower);
    /** The actor's one message: what they did, and why the other party was not told when they were not. */
    const tell = (
      reply: string,
      to: Contact,
      body: string,
      buttons: readonly AgreementAction[] = [],
      purpose: TemplatePurpose = 'loan_update',
    ) =>
      this.#send(
        context,
        parties,
        to,
        buttons.length === 0 ? text(body) : actionButtons(texts, agreement.id, buttons, body),
        body,
        purpose,
        repositories,
      ).map((sent) => [withNote(reply, undeliveredNote(sent, nameOf(to), texts))]);
    /** A request to the other party: sent, or held for when they write, and the actor's one message says which. */
    const ask = (sentReply: string, heldReply: (held: string) => string, to: Contact) =>
      this.sendRequest(context, parties, repositories).map((sent) => [
        requestReply(sent, nameOf(to), context.number, texts, { sent: sentReply, held: heldReply }),
      ]);
    switch (action) {
      case 'accept':
        return tell(
          texts.confirmation.acceptedToBorrower(facts),
          lender,
          texts.confirmation.acceptedToLender(facts),
        );
      case 'reject':
        return tell(
          texts.confirmation.rejectedToBorrower(facts),
          lender,
          texts.confirmation.rejectedToLender(facts),
        );
      // The lender marking it returned, or confirming the borrower's claim, ends the loan the same way.
      case 'mark_returned':
      case 'confirm_return':
        return tell(
          texts.actions.markedReturnedToLender(facts),
          borrower,
          texts.actions.markedReturnedToBorrower(facts),
        );
      case 'claim_returned':
        return ask(
          texts.actions.claimSentToBorrower(facts),
          (held) => texts.actions.claimWaiting(facts, held),
          lender,
        );
      case 'deny_return':
        return tell(
          texts.actions.returnDeniedToLender(facts),
          borrower,
          texts.actions.returnDeniedToBorrower(facts),
          ['claim_returned'],
        );
      case 'cancel':
        return tell(
          texts.actions.cancelledToLender(facts),
          borrower,
          texts.actions.cancelledToBorrower(facts),
        );
      case 'remind':
        if (agreement.status === 'pending_confirmation')
          return ask(texts.actions.requestResent(facts), (held) => held, borrower);
        return tell(
          texts.actions.reminderSent(facts),
          borrower,
          texts.reminders.manual(facts),
          ['claim_returned'],
          'loan_reminder',
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

/** When the lender may remind again, in the tenant's time zone. */
const remindTooSoon = (texts: Catalog, tenant: Tenant, nextAt: Date): string => {
  const local = localTimeOf(nextAt, tenant.timezone);
  const pad = (value: number) => String(value).padStart(2, '0');
  return texts.actions.remindTooSoon(
    formatLocalDate(local, tenant.locale),
    `${pad(local.hour)}:${pad(local.minute)}`,
  );
};
