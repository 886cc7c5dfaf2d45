import type { BusinessPortfolioId, WabaId } from './ids.ts';
import { err, ok, type Result } from './result.ts';

export type QualityRating = 'GREEN' | 'YELLOW' | 'RED' | 'UNKNOWN';
export const qualityRatings: readonly QualityRating[] = ['GREEN', 'YELLOW', 'RED', 'UNKNOWN'];

export type ThroughputLevel = 'STANDARD' | 'HIGH' | 'NOT_APPLICABLE';
export const throughputLevels: readonly ThroughputLevel[] = ['STANDARD', 'HIGH', 'NOT_APPLICABLE'];

/**
 * Meta's view of a number as last read (`numbers sync`) or reported (account webhooks). The messaging
 * limit is the portfolio's since 2025-10-07: new unique recipients outside the 24-hour window per moving
 * 24 h; `unlimited` when Meta sets none.
 */
export type MetaNumberView = {
  readonly businessPortfolioId?: BusinessPortfolioId;
  readonly messagingLimit: number | 'unlimited';
  readonly qualityRating: QualityRating;
  readonly throughputLevel: ThroughputLevel;
  readonly nameStatus?: string;
  readonly verifiedName?: string;
};

/** What a tier name such as `TIER_2K` does not say. */
export type UnknownMessagingTier = { readonly type: 'unknown_messaging_tier'; readonly tier: string };

const tierPattern = /^TIER_(\d+)(K?)$/;

/**
 * `TIER_250` → 250, `TIER_2K` → 2000, `TIER_100K` → 100000; `TIER_UNLIMITED` (or Meta's `-1`) →
 * `unlimited`. The webhooks carry the same tiers as text, `max_daily_conversations_per_business` as a
 * number or a tier.
 */
export const messagingLimitOfTier = (
  tier: string | number,
): Result<number | 'unlimited', UnknownMessagingTier> => {
  if (tier === -1 || tier === '-1' || tier === 'TIER_UNLIMITED') return ok('unlimited');
  if (typeof tier === 'number' || /^\d+$/.test(tier)) {
    const limit = Number(tier);
    return Number.isSafeInteger(limit) && limit > 0
      ? ok(limit)
      : err({ type: 'unknown_messaging_tier', tier: String(tier) });
  }
  const match = tierPattern.exec(tier);
  if (match === null || match[1] === undefined) return err({ type: 'unknown_messaging_tier', tier });
  const limit = Number(match[1]) * (match[2] === 'K' ? 1000 : 1);
  return limit > 0 && Number.isSafeInteger(limit) ? ok(limit) : err({ type: 'unknown_messaging_tier', tier });
};

/** Meta's throughput per level (messages per second); `undefined` leaves the number's rate as it is. */
export const ratePerSecondOfThroughput = (level: ThroughputLevel): number | undefined => {
  switch (level) {
    case 'STANDARD':
      return 80;
    case 'HIGH':
      return 1000;
    case 'NOT_APPLICABLE':
      return undefined;
  }
};

/** `250/24h`, `unlimited`, or `?` before the first sync: one narrow cell in listings. */
export const describeMessagingLimit = (view: MetaNumberView | undefined): string => {
  if (view === undefined) return '?';
  return view.messagingLimit === 'unlimited' ? 'unlimited' : `${view.messagingLimit}/24h`;
};

/**
 * What Meta's account webhooks say about a WABA's numbers. `phone_number_quality_update` names the number
 * by its display number (digits) and carries `FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`, …;
 * `business_capability_update` carries the portfolio's limit; `account_update` is logged only; the template
 * fields name a template by name and language.
 */
export type AccountEvent =
  | {
      readonly kind: 'number_quality';
      readonly wabaId: WabaId;
      readonly displayPhoneNumber: string;
      readonly event: string;
      readonly messagingLimit?: number | 'unlimited';
    }
  | {
      readonly kind: 'business_capability';
      readonly wabaId: WabaId;
      readonly messagingLimit: number | 'unlimited';
    }
  | { readonly kind: 'account'; readonly wabaId: WabaId; readonly event: string }
  /** `message_template_status_update`: `APPROVED`, `PAUSED`, `DISABLED`, `REJECTED`, … */
  | {
      readonly kind: 'template_status';
      readonly wabaId: WabaId;
      readonly name: string;
      readonly language: string;
      readonly event: string;
      readonly reason?: string;
    }
  /** `template_category_update`: Meta moved a template to another category (and price). */
  | {
      readonly kind: 'template_category';
      readonly wabaId: WabaId;
      readonly name: string;
      readonly language: string;
      readonly previousCategory?: string;
      readonly newCategory: string;
    };

/**
 * `FLAGGED` sets a number's quality flag, and so does `DOWNGRADE` (Meta lowered the limit for low quality);
 * `UNFLAGGED` and `UPGRADE` clear it; other events leave it. While set, business-initiated sends slow down.
 */
export const qualityFlagOfEvent = (event: string): boolean | undefined =>
  event === 'FLAGGED' || event === 'DOWNGRADE'
    ? true
    : event === 'UNFLAGGED' || event === 'UPGRADE'
      ? false
      : undefined;
