import { type StoredToken, tokenStatusOf } from '@prestabot/application';
import {
  type AppId,
  type BusinessPortfolioId,
  type E164,
  type MetaNumberView,
  type PhoneNumberId,
  qualityRatings,
  type TenantId,
  throughputLevels,
  type WabaId,
  type WhatsAppNumber,
} from '@prestabot/domain';
import * as z from 'zod';
import { branded, present, storedTime } from '../sql/column-types.ts';
import { tenantColumns, tenantOf } from './tenant.row.ts';

// The numbers' rows (`prestabot.whatsapp_numbers`): the number, Meta's view of it, its stored token's
// columns, and a number with its tenant (a webhook's route).

export const numberColumnsSql =
  'tenant_id, phone_number_id, display_phone_number, waba_id, app_id, token_state, token_length, token_invalid_at, token_error_code, rate_per_second, rate_pinned, business_portfolio_id, messaging_limit, quality_rating, quality_flagged, throughput_level, name_status, verified_name, meta_synced_at';

export const numberColumns = {
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  display_phone_number: branded<E164>().nullable(),
  waba_id: branded<WabaId>(),
  app_id: branded<AppId>().nullable(),
  token_state: z.enum(['missing', 'empty', 'sealed']),
  token_length: z.number().int().positive().nullable(),
  token_invalid_at: storedTime.nullable(),
  token_error_code: z.number().int().nullable(),
  rate_per_second: z.number().int(),
  // Nullable: a tenant without numbers lists them as NULL.
  rate_pinned: z.boolean().nullable(),
  business_portfolio_id: branded<BusinessPortfolioId>().nullable(),
  messaging_limit: z.number().int().positive().nullable(),
  quality_rating: z.enum(qualityRatings).nullable(),
  quality_flagged: z.boolean().nullable(),
  throughput_level: z.enum(throughputLevels).nullable(),
  name_status: z.string().nullable(),
  verified_name: z.string().nullable(),
  meta_synced_at: storedTime.nullable(),
};

export type NumberColumns = z.output<z.ZodObject<typeof numberColumns>>;

export const numberOf = (row: NumberColumns): WhatsAppNumber => ({
  tenantId: row.tenant_id,
  phoneNumberId: row.phone_number_id,
  wabaId: row.waba_id,
  tokenStatus: tokenStatusOf(
    { kind: row.token_state, length: row.token_length ?? 0 },
    row.token_invalid_at === null || row.token_error_code === null
      ? undefined
      : { at: row.token_invalid_at, errorCode: row.token_error_code },
  ),
  ratePerSecond: row.rate_per_second,
  ...present('displayPhoneNumber', row.display_phone_number),
  ...present('appId', row.app_id),
  ...(row.rate_pinned === true ? { ratePinned: true } : {}),
  ...(row.quality_flagged === true ? { qualityFlagged: true } : {}),
  ...present('meta', metaViewOf(row)),
});

/** Meta's view is stored whole by a sync: without its sync time or its quality and throughput, none is known. */
export const metaViewOf = (row: NumberColumns): (MetaNumberView & { readonly syncedAt: Date }) | null =>
  row.meta_synced_at === null || row.quality_rating === null || row.throughput_level === null
    ? null
    : {
        messagingLimit: row.messaging_limit ?? 'unlimited',
        qualityRating: row.quality_rating,
        throughputLevel: row.throughput_level,
        syncedAt: row.meta_synced_at,
        ...present('businessPortfolioId', row.business_portfolio_id),
        ...present('nameStatus', row.name_status),
        ...present('verifiedName', row.verified_name),
      };

export const numberRow = z.object(numberColumns).transform(numberOf);

/** A row of `prestabot.tenant_number`: a tenant, and one of its numbers unless it has none. */
export const tenantNumberRow = z
  .object({ ...tenantColumns, ...numberColumns, phone_number_id: branded<PhoneNumberId>().nullable() })
  .transform((row) => ({
    tenant: tenantOf(row),
    number:
      row.phone_number_id === null ? undefined : numberOf({ ...row, phone_number_id: row.phone_number_id }),
  }));

export const storedTokenColumns = {
  token_state: z.enum(['missing', 'empty', 'sealed']),
  token_key_id: z.string().nullable(),
  token_ciphertext: z.string().nullable(),
  token_length: z.number().int().positive().nullable(),
};

export const storedTokenOf = (
  row: z.output<z.ZodObject<typeof storedTokenColumns>>,
  context: z.RefinementCtx,
): StoredToken => {
  if (row.token_state !== 'sealed') return { kind: row.token_state };
  if (row.token_key_id === null || row.token_ciphertext === null || row.token_length === null) {
    context.issues.push({
      code: 'custom',
      message: 'a sealed token lacks its key id, ciphertext or length',
      input: null,
    });
    return z.NEVER;
  }
  return {
    kind: 'sealed',
    sealed: { keyId: row.token_key_id, ciphertext: row.token_ciphertext },
    length: row.token_length,
  };
};

export const storedTokenRow = z.object(storedTokenColumns).transform(storedTokenOf);

/** A stored token as its columns: token_state, token_key_id, token_ciphertext, token_length. */
export const tokenColumnsOf = (
  token: StoredToken,
): readonly [string, string | null, string | null, number | null] =>
  token.kind === 'sealed'
    ? [token.kind, token.sealed.keyId, token.sealed.ciphertext, token.length]
    : [token.kind, null, null, null];
