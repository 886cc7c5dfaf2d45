import type { QualityRating } from './meta-view.ts';
import type { OutboundMessage } from './outbound.ts';

/**
 * Meta's messaging limit counts the unique people a business portfolio reaches outside their 24-hour
 * window in a moving 24 hours. `prestabot.messaging_window()` is the same number in SQL.
 */
export const messagingWindowMs = 24 * 60 * 60 * 1000;

/**
 * Whether a message counts against the messaging limit: a template, which the bot sends only outside the
 * person's 24-hour window (inside it, the free-form message goes, and its template only as a fallback after
 * Meta says the window had closed). `prestabot.is_business_initiated` is the same rule.
 */
export const isBusinessInitiated = (message: OutboundMessage): boolean => message.type === 'template';

/**
 * The share of a number's rate its business-initiated sends may use: all of it while its quality is good,
 * an eighth at medium (YELLOW), an eightieth (one a second at 80/s) at low (RED) or while Meta has it
 * flagged or downgraded. Slower sends to new people give a number whose messages are being blocked or
 * reported room to recover before Meta lowers its limit again. `prestabot.business_pace_share` is the same.
 */
export const businessPaceShare = (quality: {
  readonly rating?: QualityRating;
  readonly flagged: boolean;
}): number =>
  quality.flagged || quality.rating === 'RED' ? 1 / 80 : quality.rating === 'YELLOW' ? 1 / 8 : 1;
