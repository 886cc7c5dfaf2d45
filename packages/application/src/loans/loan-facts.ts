import {
  type Agreement,
  type Contact,
  formatMoney,
  type LoanSubject,
  type LocalDate,
  type Locale,
  okAsync,
  type ResultAsync,
  type Tenant,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import type { LoanFacts } from '../texts/catalog.ts';
import type { TemplateVariable } from './loan-stores.port.ts';

/** `10/03/2026` in Spanish, `Mar 10, 2026` in English: a calendar date, no time zone involved. */
export const formatLocalDate = (date: LocalDate, locale: Locale): string => {
  if (locale === 'en') {
    return new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(
      new Date(Date.UTC(date.year, date.month - 1, date.day)),
    );
  }
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.day)}/${pad(date.month)}/${date.year}`;
};

export const displayName = (contact: Contact): string => contact.name ?? contact.phone ?? '—';

/** What was lent, as people read it: "$5.000" or "taladro". */
export const subjectLabel = (subject: LoanSubject, locale: Locale): string =>
  subject.kind === 'money' ? formatMoney(subject.amount, locale) : subject.description;

export const loanLabel = (agreement: Agreement, locale: Locale): string =>
  subjectLabel(agreement.subject, locale);

export type LoanParties = {
  readonly agreement: Agreement;
  readonly lender: Contact;
  readonly borrower: Contact;
  readonly facts: LoanFacts;
};

/** A loan with both parties loaded, and the facts every text about it uses. */
export const loadParties = (
  agreement: Agreement,
  tenant: Tenant,
  repositories: TenantRepositories,
): ResultAsync<LoanParties | undefined, StorageError> =>
  repositories.contacts.get(agreement.lenderId).andThen((lender) =>
    repositories.contacts.get(agreement.borrowerId).andThen((borrower) =>
      okAsync(
        lender === undefined || borrower === undefined
          ? undefined
          : {
              agreement,
              lender,
              borrower,
              facts: {
                lender: displayName(lender),
                borrower: displayName(borrower),
                loan: loanLabel(agreement, tenant.locale),
                dueDate: formatLocalDate(agreement.dueDate, tenant.locale),
              },
            },
      ),
    ),
  );

export const templateValuesOf = (
  facts: LoanFacts,
  message: string,
  daysOverdue = 0,
): Readonly<Record<TemplateVariable, string>> => ({
  lender_name: facts.lender,
  borrower_name: facts.borrower,
  loan: facts.loan,
  due_date: facts.dueDate,
  days_overdue: String(daysOverdue),
  message,
});
