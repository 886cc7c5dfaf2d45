import {
  type Agreement,
  type AmountError,
  formatMoney,
  type Locale,
  localDateOf,
  type Tenant,
} from '@prestabot/domain';
import type { Catalog } from '../texts/catalog.ts';
import { formatLocalDate } from './loan-facts.ts';

/** Why an amount is refused, in the person's words; `example` is an amount that would be taken. */
export const amountRefusal = (
  error: AmountError,
  texts: Catalog,
  example: string,
  locale: Locale,
): string => {
  const refused = texts.newLoan.amountRefused;
  switch (error.type) {
    case 'too_many_decimals':
      return refused.noDecimals(error.currency, example);
    case 'ambiguous_separator':
      return refused.ambiguous(error.number, example);
    case 'amount_not_positive':
      return refused.notPositive(example);
    case 'amount_too_large':
      return refused.tooLarge(formatMoney(error.max, locale));
    default:
      return texts.newLoan.invalidAmount(example);
  }
};

/**
 * What a loan already became, to answer a tap on an action that cannot happen any more: the last thing
 * that happened to it and its date in the tenant's zone; undefined when nothing has happened yet.
 */
export const alreadyDone = (
  agreement: Agreement,
  texts: Catalog,
  tenant: Pick<Tenant, 'locale' | 'timezone'>,
): string | undefined => {
  const said = (kind: keyof Catalog['actions']['alreadyDone'], at: Date | undefined) =>
    at === undefined
      ? undefined
      : texts.actions.alreadyDone[kind](formatLocalDate(localDateOf(at, tenant.timezone), tenant.locale));
  switch (agreement.status) {
    case 'pending_confirmation':
      return undefined;
    case 'active':
      return agreement.returnClaimedAt === undefined
        ? said('confirmed', agreement.confirmedAt)
        : said('return_claimed', agreement.returnClaimedAt);
    case 'returned':
    case 'rejected':
    case 'cancelled':
      return said(agreement.status, agreement.closedAt);
  }
};
