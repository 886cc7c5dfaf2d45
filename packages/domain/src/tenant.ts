import type { TimeZone } from './calendar.ts';
import type { AppId, PhoneNumberId, TenantId, WabaId } from './ids.ts';
import type { MetaNumberView } from './meta-view.ts';
import type { CurrencyCode } from './money.ts';
import type { E164 } from './phone.ts';

export type Locale = 'es-CL' | 'es' | 'en';
export const supportedLocales: readonly Locale[] = ['es-CL', 'es', 'en'];

export type TenantSettings = {
  /** Flow id of the "My profile" Flow; falls back to the deployment's global default. */
  readonly profileFlowId?: string;
  /** Local hour (0–23) at which reminders go out. */
  readonly reminderSendHour: number;
  /** ISO 4217 code used when a loan amount is typed without one. */
  readonly defaultCurrency: CurrencyCode;
  /** Calling code for phone numbers typed without one (`56` for Chile). */
  readonly defaultCallingCode: string;
};

export const defaultTenantSettings: TenantSettings = {
  reminderSendHour: 9,
  defaultCurrency: 'CLP',
  defaultCallingCode: '56',
};

export type TenantStatus = 'active' | 'suspended';

export type Tenant = {
  readonly id: TenantId;
  readonly name: string;
  /** IANA time zone, e.g. `America/Santiago`. */
  readonly timezone: TimeZone;
  readonly locale: Locale;
  readonly status: TenantStatus;
  readonly settings: TenantSettings;
};

/** What is known about a number's access token, without the token. */
export type TokenStatus =
  | { readonly kind: 'missing' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'set'; readonly length: number }
  | {
      readonly kind: 'invalid';
      readonly length: number;
      readonly lastErrorAt: Date;
      readonly errorCode: number;
    };

export const defaultRatePerSecond = 80;
export const maxRatePerSecond = 1000;

export type WhatsAppNumber = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly displayPhoneNumber?: E164;
  readonly wabaId: WabaId;
  /** The Meta app whose secret signs this number's webhooks; absent → the deployment's `META_APP_SECRET`. */
  readonly appId?: AppId;
  readonly tokenStatus: TokenStatus;
  /** Messages per second Meta allows this number (80 by default, up to 1,000). */
  readonly ratePerSecond: number;
  /** The operator chose `ratePerSecond` (`--rate`): Meta's throughput level does not change it. */
  readonly ratePinned?: true;
  /** Meta's view of the number and when it was last read; absent before the first `numbers sync`. */
  readonly meta?: MetaNumberView & { readonly syncedAt: Date };
  /** Meta flagged the number's quality (cleared when it unflags it): business-initiated sends slow down. */
  readonly qualityFlagged?: true;
};

/** `NULL` / `EMPTY` / `SET (n chars)` / `INVALID (last 190 at …)`: the only way a token is ever shown. */
export const describeTokenStatus = (status: TokenStatus): string => {
  switch (status.kind) {
    case 'missing':
      return 'NULL';
    case 'empty':
      return 'EMPTY';
    case 'set':
      return `SET (${status.length} chars)`;
    case 'invalid':
      return `INVALID (last ${status.errorCode} at ${status.lastErrorAt.toISOString()})`;
  }
};

export const tokenStatusOf = (token: string | undefined): TokenStatus => {
  if (token === undefined) return { kind: 'missing' };
  if (token.length === 0) return { kind: 'empty' };
  return { kind: 'set', length: token.length };
};
