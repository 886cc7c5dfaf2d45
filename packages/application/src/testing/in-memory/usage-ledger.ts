import type { NewInboxEntry } from '../../ports/inbox.port.ts';
import type { PricedMessage, UsageLedger, UsageQuery, UsageRow } from '../../ports/usage-ledger.port.ts';
import type { State, StateAccess } from './state.ts';

/**
 * What `store_webhook_items` records of the entries it stores: each priced status's message once, under
 * the tenant its number belongs to.
 */
export const recordPrices = (state: State, entries: readonly NewInboxEntry[]): void => {
  const messages = entries.flatMap(({ item }): PricedMessage[] =>
    item.kind === 'status' && item.pricing !== undefined
      ? [{ phoneNumberId: item.phoneNumberId, wamid: item.wamid, at: item.at, pricing: item.pricing }]
      : [],
  );
  for (const message of messages) {
    const key = `${message.phoneNumberId}|${message.wamid}`;
    const number = state.numbers.get(message.phoneNumberId);
    if (number === undefined || state.pricedMessages.has(key)) continue;
    state.pricedMessages.set(key, { ...message, tenantId: number.tenantId });
  }
};

/** `UsageLedger.usage`: counts by tenant, number, category and billable, in that order. */
const usageOf = (state: State, query: UsageQuery): UsageRow[] => {
  const rows = new Map<string, UsageRow>();
  for (const message of state.pricedMessages.values()) {
    if (query.tenantId !== undefined && message.tenantId !== query.tenantId) continue;
    if (message.at < query.from || message.at >= query.until) continue;
    const { category, billable } = message.pricing;
    const key = [message.tenantId, message.phoneNumberId, category, billable].join('|');
    const counted = rows.get(key);
    rows.set(key, {
      tenantId: message.tenantId,
      phoneNumberId: message.phoneNumberId,
      category,
      billable,
      messages: (counted?.messages ?? 0) + 1,
    });
  }
  return [...rows.values()].sort(
    (a, b) =>
      byCodeUnits(a.tenantId, b.tenantId) ||
      byCodeUnits(a.phoneNumberId, b.phoneNumberId) ||
      byCodeUnits(a.category, b.category) ||
      Number(a.billable) - Number(b.billable),
  );
};

/** As PostgreSQL's "C" collation orders ASCII text. */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const inMemoryUsageLedger = (access: StateAccess): UsageLedger => ({
  usage: (query) => access.read((state) => usageOf(state, query)),
});
