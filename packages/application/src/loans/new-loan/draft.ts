import {
  buttonsMessage,
  dueDateFromOption,
  e164FromWaId,
  ellipsize,
  formatMoney,
  type InboundContent,
  localDateOf,
  normalizeCommand,
  type OutboundMessage,
  ok,
  parseAmount,
  parseDueDate,
  parsePhoneInput,
  type SharedContactCard,
  textMessage,
  truncateCodePoints,
} from '@prestabot/domain';
import type { InboundContext } from '../../handle-inbound/inbound-responder.port.ts';
import { built } from '../../handle-inbound/main-menu-responder.ts';
import { type Catalog, catalogFor } from '../../texts/catalog.ts';
import { moneyWords, noWords, objectWords, yesWords } from '../../texts/keywords.ts';
import { formatLocalDate, subjectLabel } from '../loan-facts.ts';
import { type DraftChoice, draftButtonId } from '../loan-ids.ts';
import { amountRefusal } from '../refusals.ts';
import type { ConversationState, LoanDraft } from './conversation-state.ts';

// The new-loan draft as a state machine: each message a person sends moves the draft one step, and the
// step says what to answer and where the draft goes next. No I/O: recording the finished draft is the
// conversation's job.

/** What a person sent, as the conversation reads it. */
export type Input =
  | { readonly kind: 'button'; readonly id: string }
  | { readonly kind: 'text'; readonly text: string; readonly command: string }
  | { readonly kind: 'card'; readonly cards: readonly SharedContactCard[] }
  | { readonly kind: 'other' };

export const inputOf = (content: InboundContent): Input => {
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

/** What to answer, and the state the conversation keeps (none: it ends). */
export type Turn = { readonly replies: readonly OutboundMessage[]; readonly next?: ConversationState };

/** A draft with everything a loan needs, confirmed by the lender: the conversation records it. */
export type CompleteDraft = LoanDraft & Required<Pick<LoanDraft, 'borrower' | 'subject' | 'dueDate'>>;
export type RecordLoan = { readonly record: CompleteDraft };

/** What the draft reads of the message's context: who writes, for which tenant, when. */
export type DraftContext = Pick<InboundContext, 'tenant' | 'contact' | 'now'>;

export const text = (body: string) => built(textMessage(body));

/** A new draft: ask who borrows. */
export const startDraft = (texts: Catalog, draftId: string): Turn => ({
  replies: [text(texts.newLoan.askBorrower)],
  next: { flow: 'new_loan', step: 'borrower', draft: { id: draftId } },
});

/**
 * Moves the draft by what the person sent (`choice`: a button of this draft). An input the step cannot
 * use keeps the draft where it was and asks again.
 */
export const advance = (
  state: ConversationState,
  input: Input,
  choice: DraftChoice | undefined,
  context: DraftContext,
): Turn | RecordLoan => {
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
      const borrower = borrowerOf(context, state, input, texts);
      if ('ask' in borrower)
        return borrower.ask === undefined ? stay(texts.newLoan.askBorrower) : borrower.ask;
      if (borrower.phone === context.contact.phone) return stay(texts.newLoan.selfLoan);
      const next: LoanDraft = { ...withoutName(draft), borrower };
      return go({ flow: 'new_loan', step: 'kind', draft: next }, askKind(texts, next));
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
      if (kind === undefined) return stay(askKind(texts, draft, texts.newLoan.askKindAgain));
      return kind === 'money'
        ? go({ ...state, step: 'amount' }, text(texts.newLoan.askAmount(amountExample(context))))
        : go({ ...state, step: 'description' }, text(texts.newLoan.askDescription));
    }
    case 'amount': {
      if (input.kind !== 'text') return stay(texts.newLoan.askAmount(amountExample(context)));
      const amount = parseAmount(input.text, {
        locale: context.tenant.locale,
        currency: context.tenant.settings.defaultCurrency,
      });
      if (amount.isErr())
        return stay(amountRefusal(amount.error, texts, amountExample(context), context.tenant.locale));
      return go(
        {
          ...state,
          step: 'due_date',
          draft: { ...draft, subject: { kind: 'money', amount: amount.value } },
        },
        askDueDate(texts, draft.id),
      );
    }
    case 'description': {
      const description = input.kind === 'text' ? input.text.replace(/\s+/g, ' ') : '';
      if ([...description].length < 3 || [...description].length > 200)
        return stay(texts.newLoan.invalidDescription);
      return go(
        { ...state, step: 'due_date', draft: { ...draft, subject: { kind: 'object', description } } },
        askDueDate(texts, draft.id),
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
      if (due === undefined) return stay(askDueDate(texts, draft.id));
      if (due.isErr())
        return stay(
          due.error.type === 'due_date_in_the_past'
            ? texts.newLoan.dueDateInThePast
            : texts.newLoan.invalidDueDate,
        );
      const next: ConversationState = {
        ...state,
        step: 'confirm',
        draft: { ...draft, dueDate: due.value },
      };
      return go(next, summary(context, next.draft));
    }
    case 'confirm': {
      if (choice?.step === 'confirm' || yesWords.has(command)) {
        const { borrower, subject, dueDate } = draft;
        if (borrower === undefined || subject === undefined || dueDate === undefined)
          return { replies: [text(texts.newLoan.expired)] };
        return { record: { ...draft, borrower, subject, dueDate } };
      }
      if (noWords.has(command)) return { replies: [text(texts.newLoan.cancelled)] };
      return {
        replies: [text(texts.newLoan.confirmOrCancel), summary(context, draft)],
        next: state,
      };
    }
  }
};

const borrowerOf = (
  context: DraftContext,
  state: ConversationState,
  input: Input,
  texts: Catalog,
):
  | { readonly name: string; readonly phone: NonNullable<LoanDraft['borrower']>['phone'] }
  | { readonly ask: Turn | undefined } => {
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
};

const askKind = (
  texts: Catalog,
  draft: LoanDraft,
  body = texts.newLoan.askKind(draft.borrower?.name ?? ''),
): OutboundMessage =>
  built(
    buttonsMessage({
      body,
      buttons: [
        { id: draftButtonId(draft.id, { step: 'kind', value: 'money' }), title: texts.newLoan.money },
        { id: draftButtonId(draft.id, { step: 'kind', value: 'object' }), title: texts.newLoan.object },
      ],
    }),
  );

const askDueDate = (texts: Catalog, draftId: string): OutboundMessage =>
  built(
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

const summary = (context: DraftContext, draft: LoanDraft): OutboundMessage => {
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
};

/** A borrower's name, typed or from a contact card, short enough for every message that quotes it. */
const borrowerNameOf = (name: string): string => truncateCodePoints(name, 80);

/** What a person typed, quoted back in a reply: its start only, so the reply stays within Meta's limits. */
const quoted = (typed: string): string => ellipsize(typed, 40);

const withoutName = ({ borrowerName: _name, ...draft }: LoanDraft): LoanDraft => draft;

const amountExample = (context: DraftContext): string => {
  const example = parseAmount('5000', {
    locale: context.tenant.locale,
    currency: context.tenant.settings.defaultCurrency,
  });
  return example.isOk() ? formatMoney(example.value, context.tenant.locale) : '5000';
};

const draftFacts = (context: DraftContext, draft: LoanDraft) => {
  const locale = context.tenant.locale;
  return {
    lender: context.contact.name ?? '',
    borrower: draft.borrower?.name ?? '',
    loan: draft.subject === undefined ? '' : subjectLabel(draft.subject, locale),
    dueDate: draft.dueDate === undefined ? '' : formatLocalDate(draft.dueDate, locale),
  };
};
