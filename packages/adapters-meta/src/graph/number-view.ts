import type { MetaNumberReader, SendFailure } from '@prestabot/application';
import {
  type BusinessPortfolioId,
  defined,
  err,
  type MetaNumberView,
  messagingLimitOfTier,
  ok,
  type PhoneNumberId,
  qualityRatings,
  type Result,
  type ResultAsync,
  throughputLevels,
  type WabaId,
} from '@prestabot/domain';
import * as z from 'zod';
import { type GraphClient, unconfirmedAnswer } from './graph-client.ts';

/** The phone number fields a sync reads (`messaging_limit_tier` is deprecated: the portfolio's limit is this one). */
export const phoneNumberViewFields = [
  'whatsapp_business_manager_messaging_limit',
  'quality_rating',
  'throughput',
  'name_status',
  'verified_name',
] as const;

const phoneNumberSchema = z.looseObject({
  whatsapp_business_manager_messaging_limit: z.union([z.string(), z.number()]).optional(),
  quality_rating: z.enum(qualityRatings).optional().catch('UNKNOWN'),
  throughput: z.looseObject({ level: z.enum(throughputLevels) }).optional(),
  name_status: z.string().min(1).max(64).optional().catch(undefined),
  verified_name: z.string().min(1).max(256).optional().catch(undefined),
});

const wabaSchema = z.looseObject({
  owner_business_info: z
    .looseObject({ id: z.string().regex(/^[0-9]{1,32}$/) })
    .optional()
    .catch(undefined),
});

/**
 * Meta's view of a number through the Graph API: its fields, and its WABA's owner business (the
 * portfolio whose messaging limit the number shares). Both calls use the number's own token.
 */
export class GraphNumberView implements MetaNumberReader {
  readonly #client: GraphClient;

  constructor(client: GraphClient) {
    this.#client = client;
  }

  read(
    number: { readonly phoneNumberId: PhoneNumberId; readonly wabaId: WabaId },
    accessToken: string,
  ): ResultAsync<MetaNumberView, SendFailure> {
    return this.#client
      .readNode(number.phoneNumberId, phoneNumberViewFields, accessToken)
      .andThen(phoneNumberViewOf)
      .andThen((view) =>
        this.#client.readNode(number.wabaId, ['owner_business_info'], accessToken).andThen((answer) => {
          const parsed = wabaSchema.safeParse(answer);
          if (!parsed.success) return err(unconfirmedAnswer("the WABA's owner business"));
          const owner = parsed.data.owner_business_info?.id as BusinessPortfolioId | undefined;
          return ok(owner === undefined ? view : { ...view, businessPortfolioId: owner });
        }),
      );
  }
}

const phoneNumberViewOf = (answer: unknown): Result<MetaNumberView, SendFailure> => {
  const parsed = phoneNumberSchema.safeParse(answer);
  if (!parsed.success) return err(unconfirmedAnswer("the phone number's fields"));
  const fields = parsed.data;
  const tier = fields.whatsapp_business_manager_messaging_limit;
  const limit = tier === undefined ? undefined : messagingLimitOfTier(tier);
  if (limit === undefined || limit.isErr())
    return err(unconfirmedAnswer(`a messaging limit it knows (got ${String(tier)})`));
  return ok({
    messagingLimit: limit.value,
    qualityRating: fields.quality_rating ?? 'UNKNOWN',
    throughputLevel: fields.throughput?.level ?? 'NOT_APPLICABLE',
    ...defined({ nameStatus: fields.name_status }),
    ...defined({ verifiedName: fields.verified_name }),
  });
};
