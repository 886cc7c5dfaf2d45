import {
  businessPaceShare,
  isBusinessInitiated,
  messagingWindowMs,
  type PhoneNumberId,
  type Recipient,
  recipientKeyOf,
  type TenantId,
} from '@prestabot/domain';
import { outcomeGraceMs } from '../../send-queued-message/send-pacing.ts';
import { type NumberRow, type OutboxRow, pendingOutboxRows, type State } from './state.ts';

// Meta's messaging limits, as `prestabot.within_messaging_limits`, `record_reach` and `messaging_limit_room`
// keep them (migration 0023).

/** The portfolio a number's limit belongs to; a number not synced yet counts with its tenant's numbers. */
const portfolioOf = (number: NumberRow): string =>
  number.meta?.businessPortfolioId === undefined
    ? `tenant:${number.tenantId}`
    : `portfolio:${number.meta.businessPortfolioId}`;

/** As the `messaging_limit` column: undefined when unlimited or not known. */
export const messagingLimitOf = (number: NumberRow): number | undefined => {
  const limit = number.reportedLimit ?? number.meta?.messagingLimit;
  return limit === 'unlimited' ? undefined : limit;
};

const reachKey = (portfolio: string, recipientKey: string) => `${portfolio}|${recipientKey}`;

/** As `prestabot.is_business_initiated`: a template with a recipient. */
export const isBusinessInitiatedRow = (row: OutboxRow): boolean =>
  row.entry.recipient !== undefined && isBusinessInitiated(row.entry.message);

/** What the limit counts a message against, if it counts at all. */
const limitedSend = (state: State, row: OutboxRow) => {
  const { recipient, message, phoneNumberId } = row.entry;
  if (recipient === undefined || !isBusinessInitiated(message)) return undefined;
  const number = state.numbers.peek(phoneNumberId)!;
  const limit = messagingLimitOf(number);
  if (limit === undefined) return undefined;
  const portfolio = portfolioOf(number);
  return { limit, portfolio, key: reachKey(portfolio, recipientKeyOf(recipient)) };
};

const reachedIn = (state: State, portfolio: string, now: Date): Date[] =>
  [...state.portfolioReach.peekEntries()]
    .filter(([key, countsUntil]) => key.startsWith(`${portfolio}|`) && countsUntil > now)
    .map(([, countsUntil]) => countsUntil);

const isReached = (state: State, key: string, now: Date): boolean =>
  (state.portfolioReach.peek(key)?.getTime() ?? 0) > now.getTime();

/**
 * Of `rows` (in the claim's order), those the messaging limits let go now; the others are held until their
 * portfolio's earliest reach expires, marked the first time.
 */
export const withinMessagingLimits = (state: State, rows: readonly OutboxRow[], now: Date): OutboxRow[] => {
  const used = new Map<string, number>();
  const spent = new Set<string>();
  const held: { readonly row: OutboxRow; readonly portfolio: string }[] = [];
  const allowed = rows.filter((row) => {
    const limited = limitedSend(state, row);
    if (limited === undefined || isReached(state, limited.key, now) || spent.has(limited.key)) return true;
    const { portfolio } = limited;
    const reached = used.get(portfolio) ?? reachedIn(state, portfolio, now).length;
    if (limited.limit - reached > 0) {
      used.set(portfolio, reached + 1);
      spent.add(limited.key);
      return true;
    }
    held.push({ row, portfolio });
    return false;
  });
  // A portfolio with no room left holds every due message that would spend some, not only those picked
  // (as `within_messaging_limits` does): those picked and let go are leased next, those to recipients
  // reached or spent here cost nothing.
  const full = new Set(held.map(({ portfolio }) => portfolio));
  const picked = new Set(rows.map((row) => row.entry.id));
  const alsoHeld = pendingOutboxRows(state).flatMap((row) => {
    const limited = picked.has(row.entry.id) ? undefined : limitedSend(state, row);
    const due =
      row.availableAt <= now &&
      (row.lease === undefined || row.lease.until.getTime() + outcomeGraceMs <= now.getTime());
    return limited !== undefined &&
      full.has(limited.portfolio) &&
      due &&
      !spent.has(limited.key) &&
      state.portfolioReach.peek(limited.key) === undefined
      ? [{ row, portfolio: limited.portfolio }]
      : [];
  });
  for (const { row, portfolio } of [...held, ...alsoHeld]) {
    const expiries = reachedIn(state, portfolio, now).map((until) => until.getTime());
    const stored = state.outbox.get(row.entry.id)!;
    stored.availableAt = new Date(
      expiries.length === 0 ? now.getTime() + messagingWindowMs : Math.min(...expiries),
    );
    stored.limitHeldAt ??= now;
  }
  return allowed;
};

/** Counts the recipients business-initiated sends just leased reach, each until 24 h after Meta could accept it. */
export const recordReach = (
  state: State,
  leased: readonly { readonly row: OutboxRow; readonly leaseUntil: Date }[],
) => {
  for (const { row, leaseUntil } of leased) {
    const limited = limitedSend(state, row);
    if (limited === undefined) continue;
    const countsUntil = leaseUntil.getTime() + outcomeGraceMs + messagingWindowMs;
    const known = state.portfolioReach.peek(limited.key)?.getTime() ?? 0;
    state.portfolioReach.set(limited.key, new Date(Math.max(known, countsUntil)));
  }
};

/** See `OutboxStore.messagingLimitRoom`. */
export const messagingLimitRoom = (
  state: State,
  tenantId: TenantId,
  phoneNumberId: PhoneNumberId,
  recipient: Recipient,
  now: Date,
): number | undefined => {
  const number = state.numbers.peek(phoneNumberId);
  const limit = number?.tenantId === tenantId ? messagingLimitOf(number) : undefined;
  if (number === undefined || limit === undefined) return undefined;
  const portfolio = portfolioOf(number);
  if (isReached(state, reachKey(portfolio, recipientKeyOf(recipient)), now)) return undefined;
  const held = pendingOutboxRows(state).filter(
    (row) =>
      row.limitHeldAt !== undefined &&
      portfolioOf(state.numbers.peek(row.entry.phoneNumberId)!) === portfolio,
  ).length;
  return limit - reachedIn(state, portfolio, now).length - held;
};

/** A number's business pace, when its quality slows business-initiated sends. */
export const businessPaceOf = (state: State, number: NumberRow) => {
  const share = businessPaceShare({
    ...(number.meta === undefined ? {} : { rating: number.meta.qualityRating }),
    flagged: number.qualityFlagged === true,
  });
  return share < 1
    ? {
        share,
        nextFreeAt: state.businessNextSlotAt.get(number.phoneNumberId),
        isBusinessInitiated: isBusinessInitiatedRow,
      }
    : undefined;
};

/**
 * Held messages go out once there is room: at once when the number's limit is raised (or no longer known),
 * as due as when they were first held; otherwise as the window moves (the trigger of migration 0023).
 */
export const releaseHeldOnRaisedLimit = (
  state: State,
  number: NumberRow,
  previous: number | undefined,
): void => {
  const current = messagingLimitOf(number);
  if (previous === undefined || (current !== undefined && current <= previous)) return;
  for (const pending of pendingOutboxRows(state))
    if (
      pending.entry.phoneNumberId === number.phoneNumberId &&
      pending.limitHeldAt !== undefined &&
      pending.availableAt > pending.limitHeldAt
    ) {
      const row = state.outbox.get(pending.entry.id)!;
      row.availableAt = pending.limitHeldAt;
    }
};
