import {
  defined,
  type E164,
  type LoanSubject,
  type LocalDate,
  localDate,
  parseE164,
} from '@prestabot/domain';

export type DraftStep =
  | 'borrower'
  | 'borrower_phone'
  | 'kind'
  | 'amount'
  | 'description'
  | 'due_date'
  | 'confirm';
const draftSteps: readonly DraftStep[] = [
  'borrower',
  'borrower_phone',
  'kind',
  'amount',
  'description',
  'due_date',
  'confirm',
];

/** A loan being recorded, filled in step by step. */
export type LoanDraft = {
  readonly id: string;
  /** The name typed before the phone was asked for. */
  readonly borrowerName?: string;
  readonly borrower?: { readonly name: string; readonly phone: E164 };
  readonly subject?: LoanSubject;
  readonly dueDate?: LocalDate;
};

export type ConversationState = {
  readonly flow: 'new_loan';
  readonly step: DraftStep;
  readonly draft: LoanDraft;
};

/** Silence after which a half-finished conversation is forgotten. */
export const conversationTtlMs = 30 * 60 * 1000;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';

const localDateOfJson = (value: unknown): LocalDate | undefined =>
  isObject(value) &&
  typeof value.year === 'number' &&
  typeof value.month === 'number' &&
  typeof value.day === 'number'
    ? localDate(value.year, value.month, value.day).unwrapOr(undefined)
    : undefined;

const subjectOfJson = (value: unknown): LoanSubject | undefined => {
  if (!isObject(value)) return undefined;
  if (value.kind === 'object' && isString(value.description))
    return { kind: 'object', description: value.description };
  const amount = value.amount;
  if (
    value.kind === 'money' &&
    isObject(amount) &&
    Number.isSafeInteger(amount.minor) &&
    isString(amount.currency)
  ) {
    return { kind: 'money', amount: { minor: amount.minor as number, currency: amount.currency as never } };
  }
  return undefined;
};

/**
 * Reads back a saved conversation. What was saved by an older version, or damaged, reads as no
 * conversation at all: the person starts again rather than the bot acting on a guess.
 */
export const parseConversationState = (value: unknown): ConversationState | undefined => {
  if (!isObject(value) || value.flow !== 'new_loan' || !isObject(value.draft) || !isString(value.draft.id))
    return undefined;
  const step = draftSteps.find((candidate) => candidate === value.step);
  if (step === undefined) return undefined;
  const raw = value.draft;
  const borrowerPhone =
    isObject(raw.borrower) && isString(raw.borrower.phone)
      ? parseE164(raw.borrower.phone).unwrapOr(undefined)
      : undefined;
  const borrower =
    isObject(raw.borrower) && isString(raw.borrower.name) && borrowerPhone !== undefined
      ? { name: raw.borrower.name, phone: borrowerPhone }
      : undefined;
  const subject = subjectOfJson(raw.subject);
  const dueDate = localDateOfJson(raw.dueDate);
  const draft: LoanDraft = {
    id: raw.id as string,
    ...(isString(raw.borrowerName) ? { borrowerName: raw.borrowerName } : {}),
    ...defined({ borrower }),
    ...defined({ subject }),
    ...defined({ dueDate }),
  };
  return { flow: 'new_loan', step, draft };
};
