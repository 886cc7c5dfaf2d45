import type { Brand } from './ids.ts';
import { err, ok, type Result } from './result.ts';

/** A phone number in E.164: `+` followed by 8 to 15 digits, the first not zero. */
export type E164 = Brand<string, 'E164'>;

export type InvalidPhone = { readonly type: 'invalid_phone'; readonly value: string };

const e164Pattern = /^\+[1-9][0-9]{7,14}$/;

export const parseE164 = (value: string): Result<E164, InvalidPhone> =>
  e164Pattern.test(value) ? ok(value as E164) : err({ type: 'invalid_phone', value });

/** Meta's `wa_id` is the E.164 number without the `+`. */
export const e164FromWaId = (waId: string): Result<E164, InvalidPhone> =>
  /^[0-9]+$/.test(waId) ? parseE164(`+${waId}`) : err({ type: 'invalid_phone', value: waId });

/** The `wa_id` form Meta expects in `to`. */
export const waIdOf = (phone: E164): string => phone.slice(1);

/**
 * Reads a phone number a person typed or shared (`+56 9 1234 5678`, `(56) 9-1234-5678`, `912345678`).
 * A number without a country code takes the tenant's default calling code.
 */
export const parsePhoneInput = (input: string, defaultCallingCode: string): Result<E164, InvalidPhone> => {
  const trimmed = input.trim();
  const digits = trimmed.replace(/[\s().\-\u00a0]/g, '');
  if (!/^\+?[0-9]+$/.test(digits)) return err({ type: 'invalid_phone', value: input });
  if (digits.startsWith('+'))
    return parseE164(digits).mapErr(() => ({ type: 'invalid_phone', value: input }));
  if (digits.startsWith('00'))
    return parseE164(`+${digits.slice(2)}`).mapErr(() => ({ type: 'invalid_phone', value: input }));
  const national = digits.replace(/^0+/, '');
  const candidate =
    national.startsWith(defaultCallingCode) && national.length > 9
      ? national
      : `${defaultCallingCode}${national}`;
  return parseE164(`+${candidate}`).mapErr(() => ({ type: 'invalid_phone', value: input }));
};
