import type { InboxItem, OutboxFailure, OutboxOrigin } from '@prestabot/application';
import {
  currencyCodes,
  type DeliveryStatus,
  type E164,
  type GraphErrorDetail,
  type InboundContent,
  isJsonObject,
  type JsonObject,
  type OutboundMessage,
  type PhoneNumberId,
  type Recipient,
  type TenantSettings,
  type WabaId,
  type Wamid,
  webhookDeliveryStatuses,
} from '@prestabot/domain';
import * as z from 'zod';
import { branded, isoTime } from './column-types.ts';

// The domain values stored as jsonb, each with the schema that reads it back.

export const graphErrorDetail = z.object({
  code: z.number().int(),
  title: z.string().exactOptional(),
  message: z.string().exactOptional(),
  details: z.string().exactOptional(),
  subcode: z.number().int().exactOptional(),
}) satisfies z.ZodType<GraphErrorDetail>;

export const inboundContent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string() }),
  z.object({ type: z.literal('button_reply'), id: z.string(), title: z.string() }),
  z.object({
    type: z.literal('list_reply'),
    id: z.string(),
    title: z.string(),
    description: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('flow_reply'),
    name: z.string(),
    responseJson: z.string(),
    body: z.string().exactOptional(),
  }),
  z.object({ type: z.literal('quick_reply'), text: z.string(), payload: z.string() }),
  z.object({
    type: z.literal('media'),
    mediaType: z.enum(['image', 'video', 'audio', 'document', 'sticker']),
    mediaId: z.string(),
    mimeType: z.string().exactOptional(),
    caption: z.string().exactOptional(),
    filename: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().exactOptional(),
    address: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('contacts'),
    cards: z.array(
      z.object({
        formattedName: z.string(),
        phones: z.array(
          z.object({ phone: z.string(), waId: z.string().exactOptional(), type: z.string().exactOptional() }),
        ),
      }),
    ),
  }),
  z.object({ type: z.literal('reaction'), messageId: branded<Wamid>(), emoji: z.string().exactOptional() }),
  z.object({ type: z.literal('welcome_request') }),
  z.object({ type: z.literal('system'), event: z.string(), body: z.string().exactOptional() }),
  z.object({ type: z.literal('unsupported'), originalType: z.string(), errors: z.array(graphErrorDetail) }),
]) satisfies z.ZodType<InboundContent>;

export const sender = z.object({
  waId: z.string().exactOptional(),
  userId: z.string().exactOptional(),
  profileName: z.string().exactOptional(),
});

export const itemRouting = {
  phoneNumberId: branded<PhoneNumberId>(),
  displayPhoneNumber: z.string().exactOptional(),
  wabaId: branded<WabaId>(),
};

export const inboxItem = z.discriminatedUnion('kind', [
  z.object({
    ...itemRouting,
    kind: z.literal('message'),
    wamid: branded<Wamid>(),
    from: sender,
    sentAt: isoTime,
    replyTo: branded<Wamid>().exactOptional(),
    content: inboundContent,
  }),
  z.object({
    ...itemRouting,
    kind: z.literal('status'),
    wamid: branded<Wamid>(),
    status: z.enum(webhookDeliveryStatuses),
    at: isoTime,
    recipient: sender,
    errors: z.array(graphErrorDetail),
    bizOpaqueCallbackData: z.string().exactOptional(),
    pricing: z
      .object({
        billable: z.boolean(),
        pricingModel: z.string(),
        type: z.string().exactOptional(),
        category: z.string(),
      })
      .exactOptional(),
  }),
]) satisfies z.ZodType<InboxItem>;

export const templateParameter = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string(), name: z.string().exactOptional() }),
  z.object({
    type: z.literal('currency'),
    fallback: z.string(),
    code: z.string(),
    amount1000: z.number(),
    name: z.string().exactOptional(),
  }),
  z.object({ type: z.literal('date_time'), fallback: z.string(), name: z.string().exactOptional() }),
]);

export const optionalFrame = { header: z.string().exactOptional(), footer: z.string().exactOptional() };

export const outboundMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string(), previewUrl: z.boolean() }),
  z.object({
    type: z.literal('buttons'),
    body: z.string(),
    ...optionalFrame,
    buttons: z.array(z.object({ id: z.string(), title: z.string() })),
  }),
  z.object({
    type: z.literal('list'),
    body: z.string(),
    ...optionalFrame,
    buttonLabel: z.string(),
    sections: z.array(
      z.object({
        title: z.string().exactOptional(),
        rows: z.array(
          z.object({ id: z.string(), title: z.string(), description: z.string().exactOptional() }),
        ),
      }),
    ),
  }),
  z.object({
    type: z.literal('flow'),
    body: z.string(),
    ...optionalFrame,
    flowId: z.string(),
    flowToken: z.string(),
    cta: z.string(),
    mode: z.enum(['published', 'draft']),
    action: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('navigate'),
        screen: z.string(),
        data: z.custom<JsonObject>(isJsonObject, { error: 'must be a JSON object' }).exactOptional(),
      }),
      z.object({ type: z.literal('data_exchange') }),
    ]),
  }),
  z.object({
    type: z.literal('template'),
    name: z.string(),
    language: z.string(),
    components: z.array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('header'), parameters: z.array(templateParameter) }),
        z.object({ type: z.literal('body'), parameters: z.array(templateParameter) }),
        z.object({ type: z.literal('quick_reply_button'), index: z.number().int(), payload: z.string() }),
        z.object({ type: z.literal('url_button'), index: z.number().int(), text: z.string() }),
      ]),
    ),
  }),
  z.object({ type: z.literal('reaction'), messageId: branded<Wamid>(), emoji: z.string() }),
  z.object({ type: z.literal('mark_read'), messageId: branded<Wamid>(), typingIndicator: z.boolean() }),
]) satisfies z.ZodType<OutboundMessage>;

export const recipient = z.union([
  z.strictObject({ phone: branded<E164>() }),
  z.strictObject({ userId: z.string() }),
]) satisfies z.ZodType<Recipient>;

export const origin = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('reply'), inboxId: z.string() }),
  z.object({ kind: z.literal('reminder'), reminderId: z.string() }),
  z.object({ kind: z.literal('notification'), agreementId: z.string().exactOptional() }),
]) satisfies z.ZodType<OutboxOrigin>;

export const deliveryStatus = z.enum([
  'queued',
  'accepted',
  'sent',
  'delivered',
  'read',
  'played',
  'failed',
]) satisfies z.ZodType<DeliveryStatus>;

export const failure = z.object({
  reason: z.string(),
  code: z.number().int().exactOptional(),
  title: z.string().exactOptional(),
  details: z.string().exactOptional(),
}) satisfies z.ZodType<OutboxFailure>;

export const tenantSettings = z.object({
  profileFlowId: z.string().exactOptional(),
  reminderSendHour: z.number().int().min(0).max(23),
  defaultCurrency: z.enum(currencyCodes),
  defaultCallingCode: z.string(),
}) satisfies z.ZodType<TenantSettings>;
