import {
  type Agreement,
  type Contact,
  ellipsize,
  listMessage,
  type OutboundMessage,
  ok,
  type ResultAsync,
  safeTry,
  type Tenant,
  textMessage,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { catalogFor } from '../texts/catalog.ts';
import { displayName, formatLocalDate, loanLabel } from './loan-facts.ts';
import { loanButtonId } from './loan-ids.ts';

/** WhatsApp lists hold ten rows in all. */
const maxRows = 10;

/** What I lent and what I owe, open loans first, as a list whose rows open each loan. */
export const myLoans = (
  tenant: Tenant,
  me: Contact,
  repositories: TenantRepositories,
): ResultAsync<readonly OutboundMessage[], StorageError> => {
  const texts = catalogFor(tenant.locale);
  return safeTry(async function* () {
    const loans = yield* repositories.agreements.listFor(me.id, maxRows);
    if (loans.length === 0) return ok([built(textMessage(texts.myLoans.none))]);
    const names = new Map<string, string>();
    // One after the other: a unit of work holds one connection, which runs one query at a time.
    for (const id of new Set(
      loans.map((loan) => (loan.lenderId === me.id ? loan.borrowerId : loan.lenderId)),
    )) {
      const contact = yield* repositories.contacts.get(id);
      if (contact !== undefined) names.set(id, displayName(contact));
    }
    const row = (loan: Agreement) => {
      const counterpart = names.get(loan.lenderId === me.id ? loan.borrowerId : loan.lenderId) ?? '—';
      const status =
        texts.myLoans.status[
          loan.returnClaimedAt !== undefined && loan.status === 'active' ? 'return_claimed' : loan.status
        ];
      return {
        id: loanButtonId(loan.id, 'view'),
        title: ellipsize(texts.myLoans.row(loanLabel(loan, tenant.locale), counterpart), 24),
        description: ellipsize(
          texts.myLoans.rowDescription(formatLocalDate(loan.dueDate, tenant.locale), status),
          72,
        ),
      };
    };
    const lent = loans.filter((loan) => loan.lenderId === me.id).map(row);
    const borrowed = loans.filter((loan) => loan.borrowerId === me.id).map(row);
    const sections = [
      ...(lent.length === 0 ? [] : [{ title: texts.myLoans.lent, rows: lent }]),
      ...(borrowed.length === 0 ? [] : [{ title: texts.myLoans.borrowed, rows: borrowed }]),
    ];
    return ok([
      built(listMessage({ body: texts.myLoans.body, buttonLabel: texts.myLoans.button, sections })),
    ]);
  });
};
