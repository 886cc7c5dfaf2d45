import {
  type Agreement,
  type AgreementId,
  buttonsMessage,
  type ContactId,
  dueDateFromOption,
  e164FromWaId,
  ellipsize,
  err,
  formatMoney,
  type InboundContent,
  localDateOf,
  normalizeCommand,
  type OutboundMessage,
  ok,
  okAsync,
  parseAmount,
  parseDueDate,
  parsePhoneInput,
  type ResultAsync,
  type SharedContactCard,
  safeTry,
  textMessage,
  truncateCodePoints,
} from '@prestabot/domain';
import { type StorageError, storageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { parseMenuAction } from '../handle-inbound/interactive-ids.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { type Catalog, catalogFor } from '../texts/catalog.ts';
import {
  type ConversationState,
  conversationTtlMs,
  type LoanDraft,
  parseConversationState,
} from './conversation-state.ts';
import type { ActionContext, LoanActions } from './loan-actions.ts';
import { formatLocalDate, loadParties, subjectLabel } from './loan-facts.ts';
import { type DraftChoice, draftButtonId, parseLoanButton } from './loan-ids.ts';
import { myLoans } from './my-loans.ts';
import { amountRefusal } from './refusals.ts';
import { requestReply } from './requests.ts';

const newLoanWords = new Set(['nuevo prestamo', 'prestar', 'preste', 'new loan', 'lend']);
const myLoansWords = new Set(['mis prestamos', 'prestamos', 'my loans', 'loans']);
const cancelWords = new Set(['cancelar', 'cancel', 'salir']);
const yesWords = new Set([
  'si',
  'si confirmo',
  'confirmar',
  'confirmo',
  'yes',
  'ok',
  'dale',
  'confirm',
  'yes i confirm',
]);
const noWords = new Set(['no', 'no rechazar', 'rechazar', 'reject', 'no reject']);
const moneyWords = new Set(['dinero', 'plata', 'money', 'cash', '1']);
const objectWords = new Set(['objeto', 'un objeto', 'cosa', 'object', 'an object', 'thing', '2']);
const menuWords = new Set(['hola', 'menu', 'inicio', 'hi', 'hello']);

/** What a person sent, as the conversation reads it. */
type Input =
  | { readonly kind: 'button'; readonly id: string }
  | { readonly kind: 'text'; readonly text: string; readonly command: string }
  | { readonly kind: 'card'; readonly cards: readonly SharedContactCard[] }
  | { readonly kind: 'other' };

const inputOf = (content: InboundContent): Input => {
  switch (content.type) {
    case 'button_reply':
    case 'list_reply':
      return { kind: 'button', id: content.id };
    case 'quick_reply':
      return { kind: 'button', id: content.payload };
    case 'text':
      return { kind: 'text', text: content.body.trim(), command: normalizeCommand(content.body) };
    case 'contacts':
      return { kind: 'card', cards: content.cards };
    default:
      return { kind: 'other' };
  }
};

type Turn = { readonly replies: readonly OutboundMessage[]; readonly next?: ConversationState };

const text = (body: string) => built(textMessage(body));

/** A borrower's name, typed or from a contact card, short enough for every message that quotes it. */
const borrowerNameOf = (name: string): string => truncateCodePoints(name, 80);

/** What a person typed, quoted back in a reply: its start only, so the reply stays within Meta's limits. */
const quoted = (typed: string): string => ellipsize(typed, 40);

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
        return replies(yield* self.#save(context, repositories, version, self.#start(texts)));
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
        const turn = yield* self.#advance(context, live, input, choice, repositories);
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

  #start(texts: Catalog): Turn {
    return {
      replies: [text(texts.newLoan.askBorrower)],
      next: { flow: 'new_loan', step: 'borrower', draft: { id: this.#ids.uuid() } },
    };
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

  #advance(
    context: InboundContext,
    state: ConversationState,
    input: Input,
    choice: DraftChoice | undefined,
    repositories: TenantRepositories,
  ): ResultAsync<Turn, StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const { draft } = state;
    const stay = (message: OutboundMessage | string): Turn => ({
      replies: [typeof message === 'string' ? text(message) : message],
      next: state,
    });
    const go = (next: ConversationState, message: OutboundMessage): Turn => ({ replies: [message], next });
    const command = input.kind === 'text' ? input.command : '';
    switch (state.step) {
      case 'borrower':
      case 'borrower_phone': {
        const borrower = this.#borrowerOf(context, state, input, texts);
        if ('ask' in borrower)
          return okAsync(borrower.ask === undefined ? stay(texts.newLoan.askBorrower) : borrower.ask);
        if (borrower.phone === context.contact.phone) return okAsync(stay(texts.newLoan.selfLoan));
        const next: LoanDraft = { ...withoutName(draft), borrower };
        return okAsync(go({ flow: 'new_loan', step: 'kind', draft: next }, this.#askKind(texts, next)));
      }
      case 'kind': {
        const kind =
          choice?.step === 'kind'
            ? choice.value
            : moneyWords.has(command)
              ? 'money'
              : objectWords.has(command)
                ? 'object'
                : undefined;
        if (kind === undefined) return okAsync(stay(this.#askKind(texts, draft, texts.newLoan.askKindAgain)));
        return okAsync(
          kind === 'money'
            ? go({ ...state, step: 'amount' }, text(texts.newLoan.askAmount(amountExample(context))))
            : go({ ...state, step: 'description' }, text(texts.newLoan.askDescription)),
        );
      }
      case 'amount': {
        if (input.kind !== 'text') return okAsync(stay(texts.newLoan.askAmount(amountExample(context))));
        const amount = parseAmount(input.text, {
          locale: context.tenant.locale,
          currency: context.tenant.settings.defaultCurrency,
        });
        if (amount.isErr())
          return okAsync(
            stay(amountRefusal(amount.error, texts, amountExample(context), context.tenant.locale)),
          );
        return okAsync(
          go(
            {
              ...state,
              step: 'due_date',
              draft: { ...draft, subject: { kind: 'money', amount: amount.value } },
            },
            this.#askDueDate(texts, draft.id),
          ),
        );
      }
      case 'description': {
        const description = input.kind === 'text' ? input.text.replace(/\s+/g, ' ') : '';
        if ([...description].length < 3 || [...description].length > 200)
          return okAsync(stay(texts.newLoan.invalidDescription));
        return okAsync(
          go(
            { ...state, step: 'due_date', draft: { ...draft, subject: { kind: 'object', description } } },
            this.#askDueDate(texts, draft.id),
          ),
        );
      }
      case 'due_date': {
        const today = localDateOf(context.now, context.tenant.timezone);
        const due =
          choice?.step === 'due'
            ? ok(dueDateFromOption(choice.option, today))
            : input.kind === 'text'
              ? parseDueDate(input.text, { today, locale: context.tenant.locale })
              : undefined;
        if (due === undefined) return okAsync(stay(this.#askDueDate(texts, draft.id)));
        if (due.isErr())
          return okAsync(
            stay(
              due.error.type === 'due_date_in_the_past'
                ? texts.newLoan.dueDateInThePast
                : texts.newLoan.invalidDueDate,
            ),
          );
        const next: ConversationState = {
          ...state,
          step: 'confirm',
          draft: { ...draft, dueDate: due.value },
        };
        return okAsync(go(next, this.#summary(context, next.draft)));
      }
      case 'confirm': {
        if (choice?.step === 'confirm' || yesWords.has(command))
          return this.#record(context, draft, repositories);
        if (noWords.has(command)) return okAsync({ replies: [text(texts.newLoan.cancelled)] });
        return okAsync({
          replies: [text(texts.newLoan.confirmOrCancel), this.#summary(context, draft)],
          next: state,
        });
      }
    }
  }

  #borrowerOf(
    context: InboundContext,
    state: ConversationState,
    input: Input,
    texts: Catalog,
  ):
    | { readonly name: string; readonly phone: NonNullable<LoanDraft['borrower']>['phone'] }
    | { readonly ask: Turn | undefined } {
    const callingCode = context.tenant.settings.defaultCallingCode;
    const ask = (message: string, next: ConversationState = state): { readonly ask: Turn } => ({
      ask: { replies: [text(message)], next },
    });
    if (input.kind === 'card') {
      const card = input.cards.find((candidate) => candidate.phones.length > 0);
      const phone = card?.phones[0];
      if (card === undefined || phone === undefined) return ask(texts.newLoan.cardWithoutPhone);
      const parsed =
        phone.waId === undefined ? parsePhoneInput(phone.phone, callingCode) : e164FromWaId(phone.waId);
      return parsed.isOk()
        ? { name: borrowerNameOf(card.formattedName.trim() || parsed.value), phone: parsed.value }
        : ask(texts.newLoan.invalidPhone(quoted(phone.phone)));
    }
    if (input.kind !== 'text' || input.text === '') return { ask: undefined };
    const phoneMatch = /\+?[\d][\d\s().-]{6,}\d/.exec(input.text);
    if (phoneMatch === null) {
      if (state.step === 'borrower_phone') return ask(texts.newLoan.invalidPhone(quoted(input.text)));
      const name = borrowerNameOf(input.text);
      return ask(texts.newLoan.askBorrowerPhone(name), {
        ...state,
        step: 'borrower_phone',
        draft: { ...state.draft, borrowerName: name },
      });
    }
    const phone = parsePhoneInput(phoneMatch[0], callingCode);
    if (phone.isErr()) return ask(texts.newLoan.invalidPhone(quoted(phoneMatch[0])));
    const typedName = input.text.replace(phoneMatch[0], ' ').replace(/\s+/g, ' ').trim();
    return { name: borrowerNameOf(typedName || state.draft.borrowerName || phone.value), phone: phone.value };
  }

  #askKind(
    texts: Catalog,
    draft: LoanDraft,
    body = texts.newLoan.askKind(draft.borrower?.name ?? ''),
  ): OutboundMessage {
    return built(
      buttonsMessage({
        body,
        buttons: [
          { id: draftButtonId(draft.id, { step: 'kind', value: 'money' }), title: texts.newLoan.money },
          { id: draftButtonId(draft.id, { step: 'kind', value: 'object' }), title: texts.newLoan.object },
        ],
      }),
    );
  }

  #askDueDate(texts: Catalog, draftId: string): OutboundMessage {
    return built(
      buttonsMessage({
        body: texts.newLoan.askDueDate,
        buttons: [
          { id: draftButtonId(draftId, { step: 'due', option: 'tomorrow' }), title: texts.newLoan.tomorrow },
          { id: draftButtonId(draftId, { step: 'due', option: 'one_week' }), title: texts.newLoan.oneWeek },
          {
            id: draftButtonId(draftId, { step: 'due', option: 'end_of_month' }),
            title: texts.newLoan.endOfMonth,
          },
        ],
      }),
    );
  }

  #summary(context: InboundContext, draft: LoanDraft): OutboundMessage {
    const texts = catalogFor(context.tenant.locale);
    return built(
      buttonsMessage({
        body: texts.newLoan.summary(draftFacts(context, draft)),
        buttons: [
          { id: draftButtonId(draft.id, { step: 'confirm' }), title: texts.newLoan.confirm },
          { id: draftButtonId(draft.id, { step: 'cancel' }), title: texts.newLoan.cancel },
        ],
      }),
    );
  }

  /** Records the loan, asks the borrower to confirm it, and ends the conversation. */
  #record(
    context: InboundContext,
    draft: LoanDraft,
    repositories: TenantRepositories,
  ): ResultAsync<Turn, StorageError> {
    const self = this;
    const texts = catalogFor(context.tenant.locale);
    return safeTry(async function* () {
      const { borrower: typed, subject, dueDate } = draft;
      if (typed === undefined || subject === undefined || dueDate === undefined)
        return ok({ replies: [text(texts.newLoan.expired)] });
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

const withoutName = ({ borrowerName: _name, ...draft }: LoanDraft): LoanDraft => draft;

const amountExample = (context: InboundContext): string => {
  const example = parseAmount('5000', {
    locale: context.tenant.locale,
    currency: context.tenant.settings.defaultCurrency,
  });
  return example.isOk() ? formatMoney(example.value, context.tenant.locale) : '5000';
};

const draftFacts = (context: InboundContext, draft: LoanDraft) => {
  const locale = context.tenant.locale;
  return {
    lender: context.contact.name ?? '',
    borrower: draft.borrower?.name ?? '',
    loan: draft.subject === undefined ? '' : subjectLabel(draft.subject, locale),
    dueDate: draft.dueDate === undefined ? '' : formatLocalDate(draft.dueDate, locale),
  };
};
