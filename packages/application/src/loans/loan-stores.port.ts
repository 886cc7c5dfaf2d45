import type {
  Agreement,
  AgreementAction,
  AgreementId,
  AgreementStatus,
  ContactId,
  DeliveryStatus,
  LocalDate,
  ReminderKind,
  ResultAsync,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Lease } from '../ports/inbox.port.ts';

/** The scoped tenant's loans. */
export interface AgreementStore {
  create(agreement: Agreement): ResultAsync<void, StorageError>;
  get(id: AgreementId): ResultAsync<Agreement | undefined, StorageError>;
  /** Loans the contact lent or borrowed: open ones first (by due date), then the latest closed ones. */
  listFor(contactId: ContactId, limit: number): ResultAsync<readonly Agreement[], StorageError>;
  /** Loans waiting for this contact's confirmation as borrower, oldest first. */
  pendingFor(borrowerId: ContactId): ResultAsync<readonly Agreement[], StorageError>;
  /**
   * Saves the new state if the stored status is still `expected`; false when someone changed it first.
   * A saved change ends the loan's held request: what it asked is no longer the question.
   */
  update(agreement: Agreement, expected: AgreementStatus): ResultAsync<boolean, StorageError>;
  /**
   * Marks the loan's open request (the borrower's confirmation, or the lender's "did you get it back?") as
   * held: the bot could not send it, and it waits for the person it asks to write. Holding again keeps
   * the first time.
   */
  holdRequest(id: AgreementId, at: Date): ResultAsync<void, StorageError>;
  /**
   * Takes the held requests that ask this contact something now (a loan to confirm as borrower, a return
   * to confirm as lender), oldest held first, and clears them: each is taken once.
   */
  takeHeldRequests(contactId: ContactId): ResultAsync<readonly Agreement[], StorageError>;
}

export type ConversationRecord = {
  /** Whatever the conversation engine saved; it validates what it reads back. */
  readonly state: unknown;
  readonly version: number;
  readonly expiresAt: Date;
};

/** One conversation per (tenant, contact): where a multi-step exchange stands, across restarts. */
export interface ConversationStore {
  get(contactId: ContactId): ResultAsync<ConversationRecord | undefined, StorageError>;
  /** Saves when the stored version is still `expectedVersion` (0: none stored); false otherwise. */
  save(
    contactId: ContactId,
    state: unknown,
    expectedVersion: number,
    expiresAt: Date,
  ): ResultAsync<boolean, StorageError>;
  clear(contactId: ContactId): ResultAsync<void, StorageError>;
}

export type ReminderStatus = 'pending' | 'queued' | 'cancelled' | 'skipped';

export type NewReminder = {
  readonly id: string;
  readonly agreementId: AgreementId;
  readonly kind: ReminderKind;
  readonly localDate: LocalDate;
  readonly scheduledAt: Date;
  readonly recipientId: ContactId;
};

export type Reminder = NewReminder & {
  readonly status: ReminderStatus;
  readonly outboxId?: string;
  readonly reason?: string;
  /** The delivery status of the message the reminder became. */
  readonly delivery?: DeliveryStatus;
};

export type ClaimedReminder = Reminder & {
  readonly tenantId: Agreement['tenantId'];
  readonly lease: Lease;
  /** Claims of it so far, this one included: each one whose worker failed, crashed or hung counts. */
  readonly attempts: number;
};

/** The scoped tenant's reminder jobs: one per (agreement, kind, local date), ever. */
export interface ReminderStore {
  /**
   * Makes the agreement's pending reminders exactly `plan`: pending ones not in it are cancelled, new ones
   * are added; a (kind, local date) that already exists in any state is not added again.
   */
  replacePlan(
    agreementId: AgreementId,
    plan: readonly NewReminder[],
  ): ResultAsync<{ readonly added: number; readonly cancelled: number }, StorageError>;
  cancelPending(agreementId: AgreementId, reason: string): ResultAsync<number, StorageError>;
  listFor(agreementId: AgreementId): ResultAsync<readonly Reminder[], StorageError>;
  markQueued(id: string, lease: Lease, outboxId: string): ResultAsync<boolean, StorageError>;
  markSkipped(id: string, lease: Lease, reason: string): ResultAsync<boolean, StorageError>;
  recordDelivery(id: string, status: DeliveryStatus): ResultAsync<void, StorageError>;
}

/** The worker's cross-tenant claim of due reminders (`FOR UPDATE SKIP LOCKED` in SQL). */
export interface ReminderQueue {
  claimDue(request: {
    readonly owner: string;
    readonly now: Date;
    readonly limit: number;
    readonly leaseMs: number;
  }): ResultAsync<readonly ClaimedReminder[], StorageError>;
}

/** Business-initiated messages the bot sends, each possibly as an approved template. */
export type TemplatePurpose =
  | 'loan_confirmation_request'
  | 'loan_reminder'
  | 'loan_overdue_notice'
  | 'loan_update'
  /** The borrower says it was returned: the lender gets "did you get it?" buttons. */
  | 'loan_return_claim';
export const templatePurposes: readonly TemplatePurpose[] = [
  'loan_confirmation_request',
  'loan_reminder',
  'loan_overdue_notice',
  'loan_update',
  'loan_return_claim',
];

/** Values a template's body parameters can be filled with. */
export type TemplateVariable =
  | 'lender_name'
  | 'borrower_name'
  | 'loan'
  | 'due_date'
  | 'days_overdue'
  | 'message';
export const templateVariables: readonly TemplateVariable[] = [
  'lender_name',
  'borrower_name',
  'loan',
  'due_date',
  'days_overdue',
  'message',
];

export type RegisteredTemplate = {
  readonly purpose: TemplatePurpose;
  /** The template's name and language as approved in WhatsApp Manager. */
  readonly name: string;
  readonly language: string;
  /** Body parameters in order; `name` when the template uses named parameters. */
  readonly parameters: readonly { readonly variable: TemplateVariable; readonly name?: string }[];
  /** The template's quick-reply buttons in order, each bound to an action on the loan it is about. */
  readonly quickReplies: readonly AgreementAction[];
  /** Meta stopped it (a template status or category webhook): it is not used until approved again. */
  readonly stopped?: TemplateStop;
};

export type TemplateStop = {
  readonly status: 'paused' | 'disabled' | 'rejected' | 'recategorised';
  /** Meta's event and reason, e.g. `PAUSED: low quality`. */
  readonly reason: string;
};

/** The scoped tenant's approved templates. */
export interface TemplateStore {
  upsert(template: RegisteredTemplate): ResultAsync<void, StorageError>;
  /**
   * The usable template for a purpose in a language (`es_CL`), falling back to the base language (`es`);
   * one Meta stopped is skipped.
   */
  find(purpose: TemplatePurpose, language: string): ResultAsync<RegisteredTemplate | undefined, StorageError>;
  /** Every template, those Meta stopped too. */
  list(): ResultAsync<readonly RegisteredTemplate[], StorageError>;
  /**
   * Meta's word on the templates of this name and language: stopped, or (`undefined`) usable again.
   * Registering a template again (`upsert`) also makes it usable. How many templates it changed.
   */
  recordMetaStatus(
    name: string,
    language: string,
    stopped: TemplateStop | undefined,
  ): ResultAsync<number, StorageError>;
}
