import {
  defined,
  e164FromWaId,
  err,
  type JsonObject,
  messageLimits,
  type OutboundMessage,
  ok,
  parseWamid,
  type Recipient,
  type Result,
  safeTry,
  type Wamid,
  waIdOf,
} from '@prestabot/domain';
import * as z from 'zod';
import { wirePathOf } from '../wire-path.ts';
import { interactiveFields, interactiveMessageOf, interactiveSchema } from './wire-interactive.ts';
import { templateFields, templateMessageOf, templateSchema } from './wire-template.ts';

/** One message as a send carries it: the content, who gets it, and what Graph should link to it. */
export type OutboundEnvelope = {
  readonly message: OutboundMessage;
  readonly recipient?: Recipient;
  /** Shown as a quoted reply to this message. */
  readonly replyTo?: Wamid;
  /** `biz_opaque_callback_data`: echoed back in this message's status webhooks. */
  readonly callbackData?: string;
};

/** A body that is not a send Graph would take, naming the field at fault and the rule it breaks. */
export type WireViolation = { readonly field: string; readonly rule: string };

const messagingProduct = 'whatsapp';

// ---------------------------------------------------------------------------------------------------
// OutboundMessage → Graph JSON (Cloud API reference §5.1)

/** The exact JSON body of `POST /{version}/{phone_number_id}/messages` for one message. */
export const encodeSendBody = (envelope: OutboundEnvelope): JsonObject => {
  const { message } = envelope;
  if (message.type === 'mark_read') {
    return {
      messaging_product: messagingProduct,
      status: 'read',
      message_id: message.messageId,
      ...(message.typingIndicator ? { typing_indicator: { type: 'text' } } : {}),
    };
  }
  return {
    messaging_product: messagingProduct,
    recipient_type: 'individual',
    ...recipientFields(envelope.recipient),
    ...(envelope.replyTo === undefined ? {} : { context: { message_id: envelope.replyTo } }),
    ...defined({ biz_opaque_callback_data: envelope.callbackData }),
    ...contentFields(message),
  };
};

/** A phone goes in `to` as Meta's `wa_id` (digits); a business-scoped user id goes in `recipient`. */
const recipientFields = (recipient: Recipient | undefined): JsonObject => {
  if (recipient === undefined) return {};
  return 'phone' in recipient ? { to: waIdOf(recipient.phone) } : { recipient: recipient.userId };
};

const contentFields = (message: Exclude<OutboundMessage, { type: 'mark_read' }>): JsonObject => {
  switch (message.type) {
    case 'text':
      return { type: 'text', text: { body: message.body, preview_url: message.previewUrl } };
    case 'buttons':
    case 'list':
    case 'flow':
      return interactiveFields(message);
    case 'template':
      return templateFields(message);
    case 'reaction':
      return { type: 'reaction', reaction: { message_id: message.messageId, emoji: message.emoji } };
  }
};

// ---------------------------------------------------------------------------------------------------
// Graph JSON → OutboundMessage. Structure only: Meta's limits are checked by `validateOutboundMessage`,
// so they live in one place. Objects are loose, like Graph, which ignores fields it does not know.

const wamidSchema = z
  .string()
  .refine((value) => parseWamid(value).isOk(), { error: 'must be a message id' })
  .transform((value) => value as Wamid);

const contentSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('text'),
    text: z.looseObject({ body: z.string(), preview_url: z.boolean().default(false) }),
  }),
  z.looseObject({ type: z.literal('interactive'), interactive: interactiveSchema }),
  z.looseObject({
    type: z.literal('template'),
    template: templateSchema,
  }),
  z.looseObject({
    type: z.literal('reaction'),
    reaction: z.looseObject({ message_id: wamidSchema, emoji: z.string() }),
  }),
]);

const envelopeSchema = z.looseObject({
  messaging_product: z.literal(messagingProduct),
  recipient_type: z.literal('individual').optional(),
  to: z.string().optional(),
  recipient: z.string().min(1).optional(),
  context: z.looseObject({ message_id: wamidSchema }).optional(),
  biz_opaque_callback_data: z.string().optional(),
  // Graph treats a send without `type` as text.
  type: z.string().default('text'),
});

const markReadSchema = z.looseObject({
  messaging_product: z.literal(messagingProduct),
  status: z.literal('read'),
  message_id: wamidSchema,
  typing_indicator: z.looseObject({ type: z.literal('text') }).optional(),
});

type Content = z.output<typeof contentSchema>;

/**
 * Reads a send body back into the message it carries. The Graph fake uses it (then
 * `validateOutboundMessage`), so everything the gateway encodes is checked the way Graph would.
 */
export const decodeSendBody = (body: unknown): Result<OutboundEnvelope, WireViolation> => {
  if (isObject(body) && body.status !== undefined) {
    return read(markReadSchema, body).map((markRead) => ({
      message: {
        type: 'mark_read',
        messageId: markRead.message_id,
        typingIndicator: markRead.typing_indicator !== undefined,
      },
    }));
  }
  return safeTry(function* () {
    const envelope = yield* read(envelopeSchema, body);
    const recipient = yield* recipientOf(envelope);
    const callbackData = yield* callbackDataOf(envelope.biz_opaque_callback_data);
    const content = yield* read(contentSchema, envelope);
    return ok({
      message: messageOf(content),
      recipient,
      ...(envelope.context === undefined ? {} : { replyTo: envelope.context.message_id }),
      ...defined({ callbackData }),
    });
  });
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const recipientOf = (envelope: z.output<typeof envelopeSchema>): Result<Recipient, WireViolation> => {
  if (envelope.to !== undefined && envelope.recipient !== undefined) {
    return err({ field: 'to', rule: 'must not be combined with recipient' });
  }
  if (envelope.recipient !== undefined) return ok({ userId: envelope.recipient });
  if (envelope.to === undefined) return err({ field: 'to', rule: 'is required (or recipient)' });
  // Graph takes `+56 9 1234-5678` as well as `56912345678`, and answers with the normalised wa_id.
  return e164FromWaId(envelope.to.replace(/[\s+()-]/g, ''))
    .map((phone): Recipient => ({ phone }))
    .mapErr(() => ({ field: 'to', rule: 'must be a phone number in international format' }));
};

const utf8 = new TextEncoder();

const callbackDataOf = (value: string | undefined): Result<string | undefined, WireViolation> =>
  value === undefined || utf8.encode(value).length <= messageLimits.callbackData
    ? ok(value)
    : err({
        field: 'biz_opaque_callback_data',
        rule: `must have at most ${messageLimits.callbackData} bytes`,
      });

const messageOf = (content: Content): OutboundMessage => {
  switch (content.type) {
    case 'text':
      return { type: 'text', body: content.text.body, previewUrl: content.text.preview_url };
    case 'interactive':
      return interactiveMessageOf(content.interactive);
    case 'template':
      return templateMessageOf(content.template);
    case 'reaction':
      return {
        type: 'reaction',
        messageId: content.reaction.message_id,
        emoji: content.reaction.emoji,
      };
  }
};

/** Validates `value`; the first problem names its field as a Graph path (`interactive.action.buttons[0]`). */
const read = <T>(schema: z.ZodType<T>, value: unknown): Result<T, WireViolation> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  return err({ field: wirePathOf(issue?.path ?? []) || 'body', rule: issue?.message ?? 'is invalid' });
};
