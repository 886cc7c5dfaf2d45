import { truncateCodePoints, webhookDeliveryStatuses } from '@prestabot/domain';
import * as z from 'zod';
import { pricingSchema } from './pricing.ts';

// Wire shapes of Meta's webhook payloads. Every object is loose: Meta adds fields without notice.
// Required fields are the ones an item cannot be read without; optional enrichments that come malformed
// fall back to absent (`.catch`) instead of costing the whole item.

/**
 * The longest identifiers we take, with ample headroom over Meta's real formats. PostgreSQL indexes
 * senders and user ids, and refuses an index row over 2,704 bytes: a 1 MiB `from` once failed a whole
 * delivery. (Wamids, at most 512 characters, and the digit-only number and WABA ids, at most 32, are
 * bounded by their domain parsers.)
 */
export const wireIdLimits = {
  /** A phone as WhatsApp id: E.164 digits, at most 15. */
  waId: 64,
  /** A business-scoped user id, `CC.` and about 20 digits. */
  userId: 128,
  /** The number as Meta formats it for display, e.g. `+1 555-0100`. */
  displayPhoneNumber: 64,
  /** Meta caps `biz_opaque_callback_data` at 512 characters; ours is an outbox id. */
  callbackData: 512,
  /** WhatsApp limits profile names to 25 characters; a longer one is cut, not refused. */
  profileName: 128,
} as const;

const optionalString = z.string().optional().catch(undefined);
/** An optional id: empty or longer than `max` counts as absent. */
const optionalId = (max: number) => z.string().min(1).max(max).optional().catch(undefined);
/** An id a message is attributed by: empty counts as absent, but one longer than `max` refuses the message. */
const senderId = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((id) => (id === '' ? undefined : id));

/** Unix seconds, as a string (Meta's format) or a number. Eleven digits keep the Date valid. */
export const timestampSchema = z
  .union([z.string().regex(/^\d{1,11}$/), z.number().int().nonnegative().max(99_999_999_999)])
  .transform((seconds) => new Date(Number(seconds) * 1000));

/** Meta's examples send numbers; some libraries type coordinates as strings. */
const coordinateSchema = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);

export const objectKindSchema = z.looseObject({ object: z.string() });

export const envelopeSchema = z.looseObject({ entry: z.array(z.unknown()) });

export const entrySchema = z.looseObject({ id: z.string(), changes: z.array(z.unknown()) });

export const changeSchema = z.looseObject({ field: z.string(), value: z.unknown() });

export const metadataSchema = z.looseObject({
  phone_number_id: z.string(),
  display_phone_number: optionalId(wireIdLimits.displayPhoneNumber),
});

const contactSchema = z.looseObject({
  wa_id: optionalId(wireIdLimits.waId),
  user_id: optionalId(wireIdLimits.userId),
  profile: z
    .looseObject({
      name: z
        .string()
        .transform((name) => truncateCodePoints(name, wireIdLimits.profileName))
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type WireContact = z.infer<typeof contactSchema>;

export const messagesValueSchema = z.looseObject({
  metadata: z.unknown(),
  contacts: z
    .array(contactSchema.optional().catch(undefined))
    .catch([])
    .transform((contacts) => contacts.filter((contact) => contact !== undefined)),
  messages: z.array(z.unknown()).default([]),
  statuses: z.array(z.unknown()).default([]),
  errors: z.array(z.unknown()).default([]),
});

export const errorDetailSchema = z.looseObject({
  code: z.number().int(),
  title: optionalString,
  message: optionalString,
  error_subcode: z.number().int().optional().catch(undefined),
  error_data: z.looseObject({ details: optionalString }).optional().catch(undefined),
  /** Older payloads (legacy `unknown` messages) put `details` here instead of in `error_data`. */
  details: optionalString,
});
export type WireErrorDetail = z.infer<typeof errorDetailSchema>;

export const errorListSchema = z.array(errorDetailSchema);

export const messageSchema = z.looseObject({
  id: z.string(),
  from: senderId(wireIdLimits.waId),
  from_user_id: senderId(wireIdLimits.userId),
  timestamp: timestampSchema,
  type: z.string(),
  context: z.looseObject({ id: optionalString }).optional().catch(undefined),
  errors: errorListSchema.default([]),
});

// Bodies, each read from the message key its `type` names (`message.text`, `message.image`, …).

export const textSchema = z.looseObject({ body: z.string() });

export const interactiveSchema = z.looseObject({ type: z.string() });

export const buttonReplySchema = z.looseObject({ id: z.string(), title: z.string() });

export const listReplySchema = z.looseObject({
  id: z.string(),
  title: z.string(),
  description: optionalString,
});

export const flowReplySchema = z.looseObject({
  name: z.string(),
  response_json: z.string(),
  body: optionalString,
});

export const quickReplySchema = z.looseObject({ text: z.string(), payload: z.string() });

export const mediaSchema = z.looseObject({
  id: z.string().min(1),
  mime_type: optionalString,
  caption: optionalString,
  filename: optionalString,
});

export const locationSchema = z.looseObject({
  latitude: coordinateSchema,
  longitude: coordinateSchema,
  name: optionalString,
  address: optionalString,
});

export const sharedContactsSchema = z.array(
  z.looseObject({
    name: z.looseObject({ formatted_name: z.string() }),
    phones: z
      .array(z.looseObject({ phone: z.string(), wa_id: optionalString, type: optionalString }))
      .default([]),
  }),
);

export const reactionSchema = z.looseObject({ message_id: z.string(), emoji: optionalString });

export const systemSchema = z.looseObject({ type: z.string(), body: optionalString });

export const statusSchema = z.looseObject({
  id: z.string(),
  status: z.enum(webhookDeliveryStatuses),
  timestamp: timestampSchema,
  recipient_id: optionalId(wireIdLimits.waId),
  recipient_user_id: optionalId(wireIdLimits.userId),
  errors: errorListSchema.default([]),
  biz_opaque_callback_data: optionalId(wireIdLimits.callbackData),
  pricing: pricingSchema,
});

/** A tier (`TIER_2K`), a count (`2000`, as text or a number) or `-1` for unlimited. */
const messagingLimitSchema = z.union([z.string(), z.number()]);

/** `phone_number_quality_update`: `max_daily_conversations_per_business` supersedes `current_limit`. */
export const numberQualityValueSchema = z.looseObject({
  display_phone_number: z.string().regex(/^\+?[0-9]{4,20}$/),
  event: z.string().min(1).max(64),
  current_limit: messagingLimitSchema.optional().catch(undefined),
  max_daily_conversations_per_business: messagingLimitSchema.optional().catch(undefined),
});

export const businessCapabilityValueSchema = z.looseObject({
  max_daily_conversations_per_business: messagingLimitSchema,
});

export const accountUpdateValueSchema = z.looseObject({ event: z.string().min(1).max(64) });

const templateNaming = {
  message_template_name: z.string().min(1).max(512),
  message_template_language: z.string().min(2).max(16),
};

export const templateStatusValueSchema = z.looseObject({
  ...templateNaming,
  event: z.string().min(1).max(64),
  reason: z.string().max(256).nullish().catch(undefined),
});

export const templateCategoryValueSchema = z.looseObject({
  ...templateNaming,
  previous_category: z.string().max(64).optional().catch(undefined),
  new_category: z.string().min(1).max(64),
});
