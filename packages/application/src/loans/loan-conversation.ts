import {
  type Agreement,
  type AgreementId,
  type ContactId,
  err,
  type OutboundMessage,
  ok,
  type ResultAsync,
  safeTry,
} from '@prestabot/domain';
import { type StorageError, storageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { parseMenuAction } from '../handle-inbound/interactive-ids.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { catalogFor } from '../texts/catalog.ts';
import { cancelWords, menuWords, myLoansWords, newLoanWords, noWords, yesWords } from '../texts/keywords.ts';
import type { ActionContext, LoanActions } from './loan-actions.ts';
import { loadParties } from './loan-facts.ts';
import { parseLoanButton } from './loan-ids.ts';
import { myLoans } from './my-loans.ts';
import { conversationTtlMs, parseConversationState } from './new-loan/conversation-state.ts';
import { advance, type CompleteDraft, inputOf, startDraft, type Turn, text } from './new-loan/draft.ts';
import { requestReply } from './requests.ts';

/**
 * The loan conversation: recording a loan step by step, the borrower's confirmation, "my loans" and the
 * actions on each loan. Its state lives in the conversation store, so it survives restarts, and expires
 * after 30 minutes of silence. Every step takes typed text as well as buttons.
 */
export class LoanConversation implements InboundResponder {
  readonly #actions: LoanActions;
  readonly #ids: IdGenerator;

  constructor(dependencies: { readonly actions: LoanActions; readonly ids: IdGenerator }) {
    this.#actions = dependencies.actions;
    this.#ids = dependencies.ids;
  }

  respond(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const self = this;
    const input = inputOf(context.message.content);
    const actionContext: ActionContext = {
      tenant: context.tenant,
      number: context.number,
      actor: context.contact,
      now: context.now,
    };
    const texts = catalogFor(context.tenant.locale);
    const replies = (messages: readonly OutboundMessage[]) => ok({ replies: messages });
    return safeTry(async function* () {
      const button = input.kind === 'button' ? parseLoanButton(input.id) : undefined;
      if (button?.kind === 'loan') {
        return replies(
          button.action === 'view'
            ? yield* self.#actions.view(actionContext, button.agreementId, repositories)
            : yield* self.#actions.perform(actionContext, button.agreementId, button.action, repositories),
        );
      }
      const record = yield* repositories.conversations.get(context.contact.id);
      const live =
        record !== undefined && record.expiresAt > context.now
          ? parseConversationState(record.state)
          : undefined;
      const version = record?.version ?? 0;
      const menu = input.kind === 'button' ? parseMenuAction(input.id) : undefined;
      const command = input.kind === 'text' ? input.command : '';
      if (menu === 'new_loan' || newLoanWords.has(command)) {
        return replies(
          yield* self.#save(context, repositories, version, startDraft(texts, self.#ids.uuid())),
        );
      }
      if (menu === 'my_loans' || myLoansWords.has(command))
        return replies(yield* myLoans(context.tenant, context.contact, repositories));
      if (button?.kind === 'draft' && (live === undefined || live.draft.id !== button.draftId))
        return replies([text(texts.newLoan.expired)]);
      if (live !== undefined) {
        if (cancelWords.has(command) || (button?.kind === 'draft' && button.choice.step === 'cancel')) {
          yield* repositories.conversations.clear(context.contact.id);
          return replies([text(texts.newLoan.cancelled)]);
        }
        if (menuWords.has(command)) {
          yield* repositories.conversations.clear(context.contact.id);
          return ok(undefined);
        }
        const choice = button?.kind === 'draft' ? button.choice : undefined;
        const step = advance(live, input, choice, context);
        const turn = 'record' in step ? yield* self.#record(context, step.record, repositories) : step;
        return replies(yield* self.#save(context, repositories, version, turn));
      }
      if (yesWords.has(command) || noWords.has(command)) {
        const pending = yield* repositories.agreements.pendingFor(context.contact.id);
        if (pending.length === 1) {
          return replies(
            yield* self.#actions.perform(
              actionContext,
              pending[0]!.id,
              yesWords.has(command) ? 'accept' : 'reject',
              repositories,
            ),
          );
        }
        if (pending.length > 1) return replies(yield* self.#whichOne(context, pending, repositories));
      }
      return ok(undefined);
    });
  }

  /** Saves where the conversation goes next (or ends it); a concurrent change makes the whole message retry. */
  #save(
    context: InboundContext,
    repositories: TenantRepositories,
    version: number,
    turn: Turn,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const write =
      turn.next === undefined
        ? repositories.conversations.clear(context.contact.id).map(() => true)
        : repositories.conversations.save(
            context.contact.id,
            turn.next,
            version,
            new Date(context.now.getTime() + conversationTtlMs),
          );
    return write.andThen((saved) =>
      saved
        ? ok(turn.replies)
        : err(storageError('retryable', 'the conversation changed while this message was handled')),
    );
  }

  #whichOne(
    context: InboundContext,
    pending: readonly Agreement[],
    repositories: TenantRepositories,
  ): ResultAsync<readonly OutboundMessage[], StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const self = this;
    return safeTry(async function* () {
      const messages: OutboundMessage[] = [text(texts.confirmation.whichOne)];
      for (const agreement of pending.slice(0, 5))
        messages.push(
          ...(yield* self.#actions.view(
            { tenant: context.tenant, number: context.number, actor: context.contact, now: context.now },
            agreement.id,
            repositories,
          )),
        );
      return ok(messages);
    });
  }

  /** Records the loan, asks the borrower to confirm it, and ends the conversation. */
  #record(
    context: InboundContext,
    draft: CompleteDraft,
    repositories: TenantRepositories,
  ): ResultAsync<Turn, StorageError> {
    const self = this;
    const texts = catalogFor(context.tenant.locale);
    return safeTry(async function* () {
      const { borrower: typed, subject, dueDate } = draft;
      const known = yield* repositories.contacts.findByPhone(typed.phone);
      // A name the person gave themselves (their WhatsApp profile) wins over the one the lender typed.
      const borrower =
        known?.name !== undefined
          ? known
          : (yield* repositories.contacts.upsert(
              { phone: typed.phone, name: typed.name },
              self.#ids.uuid() as ContactId,
            )).contact;
      const agreement: Agreement = {
        id: self.#ids.uuid() as AgreementId,
        tenantId: context.tenant.id,
        phoneNumberId: context.number.phoneNumberId,
        lenderId: context.contact.id,
        borrowerId: borrower.id,
        subject,
        dueDate,
        status: 'pending_confirmation',
        createdAt: context.now,
      };
      yield* repositories.agreements.create(agreement);
      const parties = yield* loadParties(agreement, context.tenant, repositories);
      if (parties === undefined) return ok({ replies: [text(texts.actions.notFound)] });
      const outcome = yield* self.#actions.sendRequest(
        { tenant: context.tenant, number: context.number, actor: context.contact, now: context.now },
        parties,
        repositories,
      );
      return ok({
        replies: [
          requestReply(outcome, parties.facts.borrower, context.number, texts, {
            sent: texts.newLoan.recorded(parties.facts),
            held: texts.newLoan.recordedWaiting,
          }),
        ],
      });
    });
  }
}
