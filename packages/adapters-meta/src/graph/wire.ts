import {
  defined,
  e164FromWaId,
  err,
  type FlowAction,
  type JsonObject,
  type ListSection,
  messageLimits,
  type OutboundMessage,
  ok,
  parseWamid,
  type Recipient,
  type Result,
  safeTry,
  type TemplateComponent,
  type TemplateParameter,
  type Wamid,
  waIdOf,
} from '@prestabot/domain';
import * as z from 'zod';
import { flowDataSchema } from '../flows/flow-data.ts';

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
const flowMessageVersion = '3';

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
      return interactive('button', message, {
        buttons: message.buttons.map((button) => ({
          type: 'reply',
          reply: { id: button.id, title: button.title },
        })),
      });
    case 'list':
      return interactive('list', message, {
        button: message.buttonLabel,
        sections: message.sections.map(encodeSection),
      });
    case 'flow':
      return interactive('flow', message, {
        name: 'flow',
        parameters: {
          flow_message_version: flowMessageVersion,
          flow_id: message.flowId,
          flow_token: message.flowToken,
          flow_cta: message.cta,
          mode: message.mode,
          flow_action: message.action.type,
          ...(message.action.type === 'navigate'
            ? {
                flow_action_payload: {
                  screen: message.action.screen,
                  ...defined({ data: message.action.data }),
                },
              }
            : {}),
        },
      });
    case 'template':
      return {
        type: 'template',
        template: {
          name: message.name,
          language: { code: message.language },
          ...(message.components.length === 0
            ? {}
            : { components: message.components.map(encodeTemplateComponent) }),
        },
      };
    case 'reaction':
      return { type: 'reaction', reaction: { message_id: message.messageId, emoji: message.emoji } };
  }
};

const interactive = (
  type: string,
  frame: { readonly body: string; readonly header?: string; readonly footer?: string },
  action: JsonObject,
): JsonObject => ({
  type: 'interactive',
  interactive: {
    type,
    ...(frame.header === undefined ? {} : { header: { type: 'text', text: frame.header } }),
    body: { text: frame.body },
    ...(frame.footer === undefined ? {} : { footer: { text: frame.footer } }),
    action,
  },
});

const encodeSection = (section: ListSection): JsonObject => ({
  ...defined({ title: section.title }),
  rows: section.rows.map((row) => ({
    id: row.id,
    title: row.title,
    ...defined({ description: row.description }),
  })),
});

const encodeTemplateComponent = (component: TemplateComponent): JsonObject => {
  switch (component.type) {
    case 'header':
    case 'body':
      return { type: component.type, parameters: component.parameters.map(encodeTemplateParameter) };
    case 'quick_reply_button':
      return {
        type: 'button',
        sub_type: 'quick_reply',
        index: String(component.index),
        parameters: [{ type: 'payload', payload: component.payload }],
      };
    case 'url_button':
      return {
        type: 'button',
        sub_type: 'url',
        index: String(component.index),
        parameters: [{ type: 'text', text: component.text }],
      };
  }
};

const encodeTemplateParameter = (parameter: TemplateParameter): JsonObject => {
  const name = parameter.name === undefined ? {} : { parameter_name: parameter.name };
  switch (parameter.type) {
    case 'text':
      return { type: 'text', ...name, text: parameter.text };
    case 'currency':
      return {
        type: 'currency',
        ...name,
        currency: {
          fallback_value: parameter.fallback,
          code: parameter.code,
          amount_1000: parameter.amount1000,
        },
      };
    case 'date_time':
      return { type: 'date_time', ...name, date_time: { fallback_value: parameter.fallback } };
  }
};

// ---------------------------------------------------------------------------------------------------
// Graph JSON → OutboundMessage. Structure only: Meta's limits are checked by `validateOutboundMessage`,
// so they live in one place. Objects are loose, like Graph, which ignores fields it does not know.

const wamidSchema = z
  .string()
  .refine((value) => parseWamid(value).isOk(), { error: 'must be a message id' })
  .transform((value) => value as Wamid);

const textField = z.looseObject({ text: z.string() });

const frameShape = {
  header: z.looseObject({ type: z.literal('text'), text: z.string() }).optional(),
  body: textField,
  footer: textField.optional(),
};

const buttonsSchema = z.looseObject({
  type: z.literal('button'),
  ...frameShape,
  action: z.looseObject({
    buttons: z.array(
      z.looseObject({
        type: z.literal('reply'),
        reply: z.looseObject({ id: z.string(), title: z.string() }),
      }),
    ),
  }),
});

const listSchema = z.looseObject({
  type: z.literal('list'),
  ...frameShape,
  action: z.looseObject({
    button: z.string(),
    sections: z.array(
      z.looseObject({
        title: z.string().optional(),
        rows: z.array(
          z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }),
        ),
      }),
    ),
  }),
});

const flowSchema = z.looseObject({
  type: z.literal('flow'),
  ...frameShape,
  action: z.looseObject({
    name: z.literal('flow'),
    parameters: z.looseObject({
      flow_message_version: z.literal(flowMessageVersion),
      flow_id: z.string({ error: 'is required (sending by flow_name is not supported)' }),
      flow_token: z.string(),
      flow_cta: z.string(),
      mode: z.enum(['published', 'draft']).default('published'),
      flow_action: z.enum(['navigate', 'data_exchange']).default('navigate'),
      flow_action_payload: z.looseObject({ screen: z.string(), data: flowDataSchema.optional() }).optional(),
    }),
  }),
});

const interactiveSchema = z.discriminatedUnion('type', [buttonsSchema, listSchema, flowSchema]);

const parameterName = { parameter_name: z.string().optional() };

const templateParameterSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text'), ...parameterName, text: z.string() }),
  z.looseObject({
    type: z.literal('currency'),
    ...parameterName,
    currency: z.looseObject({ fallback_value: z.string(), code: z.string(), amount_1000: z.number() }),
  }),
  z.looseObject({
    type: z.literal('date_time'),
    ...parameterName,
    date_time: z.looseObject({ fallback_value: z.string() }),
  }),
]);

/** Graph sends button indexes as strings; numbers are accepted too. */
const buttonIndex = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

const templateComponentSchema = z.union(
  [
    z.looseObject({
      type: z.enum(['header', 'body']),
      parameters: z.array(templateParameterSchema).default([]),
    }),
    z.looseObject({
      type: z.literal('button'),
      sub_type: z.literal('quick_reply'),
      index: buttonIndex,
      parameters: z.tuple([z.looseObject({ type: z.literal('payload'), payload: z.string() })]),
    }),
    z.looseObject({
      type: z.literal('button'),
      sub_type: z.literal('url'),
      index: buttonIndex,
      parameters: z.tuple([z.looseObject({ type: z.literal('text'), text: z.string() })]),
    }),
  ],
  { error: 'must be a header or body component, or a quick_reply or url button with one parameter' },
);

const contentSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('text'),
    text: z.looseObject({ body: z.string(), preview_url: z.boolean().default(false) }),
  }),
  z.looseObject({ type: z.literal('interactive'), interactive: interactiveSchema }),
  z.looseObject({
    type: z.literal('template'),
    template: z.looseObject({
      name: z.string(),
      language: z.looseObject({ code: z.string() }),
      components: z.array(templateComponentSchema).default([]),
    }),
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
      return {
        type: 'template',
        name: content.template.name,
        language: content.template.language.code,
        components: content.template.components.map(templateComponentOf),
      };
    case 'reaction':
      return {
        type: 'reaction',
        messageId: content.reaction.message_id,
        emoji: content.reaction.emoji,
      };
  }
};

const frameOf = (interactive: {
  readonly header?: { readonly text: string } | undefined;
  readonly body: { readonly text: string };
  readonly footer?: { readonly text: string } | undefined;
}) => ({
  body: interactive.body.text,
  ...(interactive.header === undefined ? {} : { header: interactive.header.text }),
  ...(interactive.footer === undefined ? {} : { footer: interactive.footer.text }),
});

const interactiveMessageOf = (interactive: z.output<typeof interactiveSchema>): OutboundMessage => {
  switch (interactive.type) {
    case 'button':
      return {
        type: 'buttons',
        ...frameOf(interactive),
        buttons: interactive.action.buttons.map(({ reply }) => ({ id: reply.id, title: reply.title })),
      };
    case 'list':
      return {
        type: 'list',
        ...frameOf(interactive),
        buttonLabel: interactive.action.button,
        sections: interactive.action.sections.map((section) => ({
          ...defined({ title: section.title }),
          rows: section.rows.map((row) => ({
            id: row.id,
            title: row.title,
            ...defined({ description: row.description }),
          })),
        })),
      };
    case 'flow': {
      const parameters = interactive.action.parameters;
      const payload = parameters.flow_action_payload;
      const action: FlowAction =
        parameters.flow_action === 'data_exchange'
          ? { type: 'data_exchange' }
          : {
              type: 'navigate',
              // An absent screen is caught by validateOutboundMessage (`action.screen must not be empty`).
              screen: payload?.screen ?? '',
              ...(payload?.data === undefined ? {} : { data: payload.data }),
            };
      return {
        type: 'flow',
        ...frameOf(interactive),
        flowId: parameters.flow_id,
        flowToken: parameters.flow_token,
        cta: parameters.flow_cta,
        mode: parameters.mode,
        action,
      };
    }
  }
};

const templateComponentOf = (component: z.output<typeof templateComponentSchema>): TemplateComponent => {
  if (component.type !== 'button') {
    return { type: component.type, parameters: component.parameters.map(templateParameterOf) };
  }
  const [parameter] = component.parameters;
  return parameter.type === 'payload'
    ? { type: 'quick_reply_button', index: component.index, payload: parameter.payload }
    : { type: 'url_button', index: component.index, text: parameter.text };
};

const templateParameterOf = (parameter: z.output<typeof templateParameterSchema>): TemplateParameter => {
  const name = parameter.parameter_name === undefined ? {} : { name: parameter.parameter_name };
  switch (parameter.type) {
    case 'text':
      return { type: 'text', text: parameter.text, ...name };
    case 'currency':
      return {
        type: 'currency',
        fallback: parameter.currency.fallback_value,
        code: parameter.currency.code,
        amount1000: parameter.currency.amount_1000,
        ...name,
      };
    case 'date_time':
      return { type: 'date_time', fallback: parameter.date_time.fallback_value, ...name };
  }
};

/** Validates `value`; the first problem names its field as a Graph path (`interactive.action.buttons[0]`). */
const read = <T>(schema: z.ZodType<T>, value: unknown): Result<T, WireViolation> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  return err({ field: pathOf(issue?.path ?? []), rule: issue?.message ?? 'is invalid' });
};

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (prefix, key) =>
      typeof key === 'number'
        ? `${prefix}[${key}]`
        : prefix === ''
          ? String(key)
          : `${prefix}.${String(key)}`,
    '',
  ) || 'body';
