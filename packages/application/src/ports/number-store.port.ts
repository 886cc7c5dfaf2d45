import type {
  AppId,
  E164,
  MetaNumberView,
  PhoneNumberId,
  ResultAsync,
  TokenStatus,
  WabaId,
  WhatsAppNumber,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { SealedSecret } from './secret-cipher.port.ts';

/** A number's access token as stored: never plaintext. */
export type StoredToken =
  | { readonly kind: 'missing' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'sealed'; readonly sealed: SealedSecret; readonly length: number };

export type NewNumber = {
  readonly phoneNumberId: PhoneNumberId;
  readonly displayPhoneNumber?: E164;
  readonly wabaId: WabaId;
  readonly appId?: AppId;
  readonly token: StoredToken;
  readonly ratePerSecond: number;
  /** The operator chose the rate (`--rate`): a sync does not set it from Meta's throughput level. */
  readonly ratePinned?: true;
};

/** The scoped tenant's WhatsApp numbers. */
export interface NumberStore {
  /** Adds a number; `phone_number_id` is unique across all tenants (a clash is a `duplicate`). */
  add(number: NewNumber): ResultAsync<void, StorageError>;
  get(phoneNumberId: PhoneNumberId): ResultAsync<WhatsAppNumber | undefined, StorageError>;
  list(): ResultAsync<readonly WhatsAppNumber[], StorageError>;
  /** The stored token, or `undefined` when the tenant has no such number. */
  token(phoneNumberId: PhoneNumberId): ResultAsync<StoredToken | undefined, StorageError>;
  /** Replaces the token and clears any invalid flag. False when the tenant has no such number. */
  /** Also releases the messages a 190 held for the number: they go at once, not after the 190's pause. */
  replaceToken(phoneNumberId: PhoneNumberId, token: StoredToken): ResultAsync<boolean, StorageError>;
  /**
   * Stores Meta's view of the number, and its rate from the throughput level (`ratePerSecond`, absent
   * to keep it) unless the operator pinned it. The number as stored afterwards; `undefined` when the
   * tenant has no such number.
   */
  recordMetaView(
    phoneNumberId: PhoneNumberId,
    view: MetaNumberView,
    change: { readonly ratePerSecond?: number; readonly syncedAt: Date },
  ): ResultAsync<WhatsAppNumber | undefined, StorageError>;
  /**
   * What an account webhook reported: the quality flag (FLAGGED / UNFLAGGED) and the portfolio's
   * messaging limit, each left as it is when absent. False when the tenant has no such number.
   */
  recordAccountEvent(
    phoneNumberId: PhoneNumberId,
    change: { readonly qualityFlagged?: boolean; readonly messagingLimit?: number | 'unlimited' },
  ): ResultAsync<boolean, StorageError>;
}

/**
 * What may be shown about a stored token: its state and length, never the token; Graph's rejection shows
 * only on a token that is set. The one rule, for every store (a row holds the state and length only).
 */
export const tokenStatusOf = (
  token: { readonly kind: StoredToken['kind']; readonly length: number },
  invalid: { readonly errorCode: number; readonly at: Date } | undefined,
): TokenStatus => {
  if (token.kind !== 'sealed') return { kind: token.kind };
  return invalid === undefined
    ? { kind: 'set', length: token.length }
    : { kind: 'invalid', length: token.length, lastErrorAt: invalid.at, errorCode: invalid.errorCode };
};
