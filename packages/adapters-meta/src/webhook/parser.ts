import type { WebhookParseError, WebhookParser } from '@prestabot/application';
import {
  type AccountEvent,
  ellipsize,
  err,
  type GraphErrorDetail,
  type IgnoredChange,
  type InboundContent,
  type InboundMessage,
  type InboundNumberError,
  type InboundStatus,
  type InvalidId,
  messagingLimitOfTier,
  ok,
  parsePhoneNumberId,
  parseWabaId,
  parseWamid,
  type RejectedItem,
  Result,
  type Sender,
  safeTry,
  type WebhookBatch,
  type WebhookItem,
  withoutLoneSurrogates,
} from '@prestabot/domain';
import type * as z from 'zod';
import * as wire from './payload.schema.ts';

type Routing = Pick<InboundMessage, 'phoneNumberId' | 'displayPhoneNumber' | 'wabaId'>;

type BatchBuilder = {
  items: WebhookItem[];
  accountEvents: AccountEvent[];
  ignored: IgnoredChange[];
  rejected: RejectedItem[];
};

type Message = z.output<typeof wire.messageSchema>;

const whatsappBusinessAccount = 'whatsapp_business_account';

/**
 * Reads a webhook body into domain items. Only a body that is not a WhatsApp webhook at all is an error;
 * an item that cannot be read is rejected on its own, and its siblings still arrive.
 */
export class ZodWebhookParser implements WebhookParser {
  parse(rawBody: Uint8Array): Result<WebhookBatch, WebhookParseError> {
    return decodeJson(rawBody)
      .andThen(readEntries)
      .map((entries) => {
        const batch: BatchBuilder = { items: [], accountEvents: [], ignored: [], rejected: [] };
        entries.forEach((entry, index) => {
          readEntry(entry, `entry[${index}]`, batch);
        });
        const { accountEvents, ...rest } = batch;
        return accountEvents.length === 0 ? rest : batch;
      });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An escape of a UTF-16 surrogate (`\ud800`): only through one can JSON text carry a lone surrogate. */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * Every string read as PostgreSQL can store it: a lone surrogate (valid JSON, invalid Unicode) becomes
 * U+FFFD. One in a profile name once refused a whole delivery, its valid siblings with it.
 */
const storableStrings = (_key: string, value: unknown): unknown =>
  typeof value === 'string' ? withoutLoneSurrogates(value) : value;

const decodeJson = Result.fromThrowable(
  (bytes: Uint8Array): unknown => {
    const text = utf8.decode(bytes);
    return surrogateEscape.test(text) ? JSON.parse(text, storableStrings) : JSON.parse(text);
  },
  (error): WebhookParseError => ({
    type: 'malformed_json',
    message: error instanceof Error ? error.message : String(error),
  }),
);

const readEntries = (payload: unknown): Result<readonly unknown[], WebhookParseError> =>
  read(wire.objectKindSchema, payload)
    .mapErr(invalidPayload)
    .andThen(({ object }) =>
      object === whatsappBusinessAccount
        ? read(wire.envelopeSchema, payload).mapErr(invalidPayload)
        : err({ type: 'unexpected_object' as const, object }),
    )
    .map(({ entry }) => entry);

const invalidPayload = (message: string): WebhookParseError => ({ type: 'invalid_payload', message });

const readEntry = (raw: unknown, path: string, batch: BatchBuilder): void => {
  readOrReject(batch, path, read(wire.entrySchema, raw), (entry) => {
    entry.changes.forEach((change, index) => {
      readChange(change, entry.id, `${path}.changes[${index}]`, batch);
    });
  });
};

const readChange = (raw: unknown, wabaId: string, path: string, batch: BatchBuilder): void => {
  readOrReject(batch, path, read(wire.changeSchema, raw), (change) => {
    if (change.field === 'messages') readMessagesValue(change.value, wabaId, `${path}.value`, batch);
    else if (accountFields.has(change.field))
      readOrReject(batch, `${path}.value`, readAccountEvent(change.field, change.value, wabaId), (event) =>
        batch.accountEvents.push(event),
      );
    else batch.ignored.push({ field: change.field, wabaId });
  });
};

const readMessagesValue = (raw: unknown, wabaId: string, path: string, batch: BatchBuilder): void => {
  readOrReject(batch, path, read(wire.messagesValueSchema, raw), (value) => {
    const routing = routingOf(value.metadata, wabaId);
    const addItem = (itemPath: string, item: Result<WebhookItem, string>): void => {
      readOrReject(batch, itemPath, item, (readItem) => batch.items.push(readItem));
    };
    value.messages.forEach((message, index) => {
      addItem(
        `${path}.messages[${index}]`,
        routing.andThen((route) => readMessage(message, route, value.contacts)),
      );
    });
    value.statuses.forEach((status, index) => {
      addItem(
        `${path}.statuses[${index}]`,
        routing.andThen((route) => readStatus(status, route)),
      );
    });
    if (value.errors.length > 0) {
      addItem(
        `${path}.errors`,
        routing.andThen((route) => readNumberError(value.errors, route)),
      );
    }
  });
};

const accountFields = new Set([
  'phone_number_quality_update',
  'business_capability_update',
  'account_update',
  'message_template_status_update',
  'template_category_update',
]);

const limitOf = (value: string | number): Result<number | 'unlimited', string> =>
  messagingLimitOfTier(value).mapErr(({ tier }) => `unknown messaging limit ${JSON.stringify(tier)}`);

const readAccountEvent = (field: string, raw: unknown, wabaIdText: string): Result<AccountEvent, string> =>
  safeTry(function* () {
    const wabaId = yield* parseWabaId(wabaIdText).mapErr(describeInvalidId);
    if (field === 'business_capability_update') {
      const value = yield* read(wire.businessCapabilityValueSchema, raw);
      const messagingLimit = yield* limitOf(value.max_daily_conversations_per_business);
      return ok({ kind: 'business_capability' as const, wabaId, messagingLimit });
    }
    if (field === 'message_template_status_update') {
      const value = yield* read(wire.templateStatusValueSchema, raw);
      return ok({
        kind: 'template_status' as const,
        wabaId,
        name: value.message_template_name,
        language: value.message_template_language,
        event: value.event,
        ...optional('reason', value.reason ?? undefined),
      });
    }
    if (field === 'template_category_update') {
      const value = yield* read(wire.templateCategoryValueSchema, raw);
      return ok({
        kind: 'template_category' as const,
        wabaId,
        name: value.message_template_name,
        language: value.message_template_language,
        newCategory: value.new_category,
        ...optional('previousCategory', value.previous_category),
      });
    }
    if (field === 'account_update') {
      const value = yield* read(wire.accountUpdateValueSchema, raw);
      return ok({ kind: 'account' as const, wabaId, event: value.event });
    }
    const value = yield* read(wire.numberQualityValueSchema, raw);
    // `current_limit` may name a throughput level instead of a limit: only a limit it can read counts.
    const limit = value.max_daily_conversations_per_business ?? value.current_limit;
    const messagingLimit = limit === undefined ? undefined : limitOf(limit).unwrapOr(undefined);
    return ok({
      kind: 'number_quality' as const,
      wabaId,
      displayPhoneNumber: value.display_phone_number.replace(/^\+/, ''),
      event: value.event,
      ...optional('messagingLimit', messagingLimit),
    });
  });

/** Hands what was read at `path` to `use`, or records why it was rejected. */
const readOrReject = <T>(
  batch: BatchBuilder,
  path: string,
  result: Result<T, string>,
  use: (value: T) => void,
): void => {
  if (result.isOk()) use(result.value);
  else batch.rejected.push({ path, reason: result.error });
};

const routingOf = (metadata: unknown, wabaId: string): Result<Routing, string> =>
  safeTry(function* () {
    const wireMetadata = yield* read(wire.metadataSchema, metadata, 'metadata');
    const phoneNumberId = yield* parsePhoneNumberId(wireMetadata.phone_number_id).mapErr(describeInvalidId);
    const waba = yield* parseWabaId(wabaId).mapErr(describeInvalidId);
    return ok({
      phoneNumberId,
      wabaId: waba,
      ...optional('displayPhoneNumber', wireMetadata.display_phone_number),
    });
  });

const readMessage = (
  raw: unknown,
  routing: Routing,
  contacts: readonly wire.WireContact[],
): Result<InboundMessage, string> =>
  safeTry(function* () {
    const message = yield* read(wire.messageSchema, raw);
    const wamid = yield* parseWamid(message.id).mapErr(describeInvalidId);
    const from = yield* senderOf(message, contacts);
    const content = yield* contentOf(message);
    const replyTo =
      message.context?.id === undefined ? undefined : parseWamid(message.context.id).unwrapOr(undefined);
    return ok({
      kind: 'message' as const,
      ...routing,
      wamid,
      from,
      sentAt: message.timestamp,
      ...optional('replyTo', replyTo),
      content,
    });
  });

/** The profile comes from the `contacts[]` entry of the same user, by phone or by business-scoped id. */
const senderOf = (message: Message, contacts: readonly wire.WireContact[]): Result<Sender, string> => {
  const { from, from_user_id: fromUserId } = message;
  if (from === undefined && fromUserId === undefined) return err('neither from nor from_user_id is present');
  const contact = contacts.find(
    (candidate) =>
      (from !== undefined && candidate.wa_id === from) ||
      (fromUserId !== undefined && candidate.user_id === fromUserId),
  );
  return ok({
    ...optional('waId', from),
    ...optional('userId', fromUserId ?? contact?.user_id),
    ...optional('profileName', contact?.profile?.name),
  });
};

const contentOf = (message: Message): Result<InboundContent, string> => {
  switch (message.type) {
    case 'text':
      return read(wire.textSchema, message.text, 'text').map(({ body }) => ({ type: 'text', body }));
    case 'interactive':
      return read(wire.interactiveSchema, message.interactive, 'interactive').andThen((interactive) =>
        interactiveContentOf(interactive, message.errors),
      );
    case 'button':
      return read(wire.quickReplySchema, message.button, 'button').map(({ text, payload }) => ({
        type: 'quick_reply',
        text,
        payload,
      }));
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const mediaType = message.type;
      return read(wire.mediaSchema, message[mediaType], mediaType).map((media) => ({
        type: 'media',
        mediaType,
        mediaId: media.id,
        ...optional('mimeType', media.mime_type),
        ...optional('caption', media.caption),
        ...optional('filename', media.filename),
      }));
    }
    case 'location':
      return read(wire.locationSchema, message.location, 'location').map((location) => ({
        type: 'location',
        latitude: location.latitude,
        longitude: location.longitude,
        ...optional('name', location.name),
        ...optional('address', location.address),
      }));
    case 'contacts':
      return read(wire.sharedContactsSchema, message.contacts, 'contacts').map((cards) => ({
        type: 'contacts',
        cards: cards.map((card) => ({
          formattedName: card.name.formatted_name,
          phones: card.phones.map((phone) => ({
            phone: phone.phone,
            ...optional('waId', phone.wa_id),
            ...optional('type', phone.type),
          })),
        })),
      }));
    case 'reaction':
      return read(wire.reactionSchema, message.reaction, 'reaction').andThen((reaction) =>
        parseWamid(reaction.message_id)
          .mapErr(describeInvalidId)
          .map(
            (messageId): InboundContent => ({
              type: 'reaction',
              messageId,
              // Meta sends no emoji, or an empty one, when the user removes a reaction.
              ...optional('emoji', reaction.emoji === '' ? undefined : reaction.emoji),
            }),
          ),
      );
    case 'request_welcome':
      return ok({ type: 'welcome_request' });
    case 'system':
      return read(wire.systemSchema, message.system, 'system').map((system) => ({
        type: 'system',
        event: system.type,
        ...optional('body', system.body),
      }));
    default:
      // `unsupported`, the legacy `unknown`, `order` and whatever Meta adds next: kept, never dropped.
      return ok(unsupported(message.type, message.errors));
  }
};

const interactiveContentOf = (
  interactive: z.output<typeof wire.interactiveSchema>,
  errors: readonly wire.WireErrorDetail[],
): Result<InboundContent, string> => {
  switch (interactive.type) {
    case 'button_reply':
      return read(wire.buttonReplySchema, interactive.button_reply, 'interactive.button_reply').map(
        ({ id, title }) => ({ type: 'button_reply', id, title }),
      );
    case 'list_reply':
      return read(wire.listReplySchema, interactive.list_reply, 'interactive.list_reply').map((reply) => ({
        type: 'list_reply',
        id: reply.id,
        title: reply.title,
        ...optional('description', reply.description),
      }));
    case 'nfm_reply':
      return read(wire.flowReplySchema, interactive.nfm_reply, 'interactive.nfm_reply').map((reply) => ({
        type: 'flow_reply',
        name: reply.name,
        responseJson: reply.response_json,
        ...optional('body', reply.body),
      }));
    default:
      return ok(unsupported(`interactive.${interactive.type}`, errors));
  }
};

const unsupported = (originalType: string, errors: readonly wire.WireErrorDetail[]): InboundContent => ({
  type: 'unsupported',
  originalType,
  errors: errors.map(toGraphError),
});

const readStatus = (raw: unknown, routing: Routing): Result<InboundStatus, string> =>
  safeTry(function* () {
    const status = yield* read(wire.statusSchema, raw);
    const wamid = yield* parseWamid(status.id).mapErr(describeInvalidId);
    return ok({
      kind: 'status' as const,
      ...routing,
      wamid,
      status: status.status,
      at: status.timestamp,
      recipient: {
        ...optional('waId', status.recipient_id),
        ...optional('userId', status.recipient_user_id),
      },
      errors: status.errors.map(toGraphError),
      ...optional('bizOpaqueCallbackData', status.biz_opaque_callback_data),
      ...optional('pricing', status.pricing),
    });
  });

const readNumberError = (errors: readonly unknown[], routing: Routing): Result<InboundNumberError, string> =>
  read(wire.errorListSchema, errors).map((details) => ({
    kind: 'error',
    ...routing,
    errors: details.map(toGraphError),
  }));

const toGraphError = (error: wire.WireErrorDetail): GraphErrorDetail => ({
  code: error.code,
  ...optional('title', error.title),
  ...optional('message', error.message),
  ...optional('details', error.error_data?.details ?? error.details),
  ...optional('subcode', error.error_subcode),
});

/** Validates `value`; a failure becomes a one-line reason whose paths start at `at`. */
const read = <T>(schema: z.ZodType<T>, value: unknown, at = ''): Result<T, string> => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  return err(parsed.error.issues.map((issue) => describeIssue(issue, at)).join('; '));
};

const describeIssue = (issue: z.core.$ZodIssue, at: string): string => {
  const path = issue.path.reduce<string>(
    (prefix, key) =>
      typeof key === 'number'
        ? `${prefix}[${key}]`
        : prefix === ''
          ? String(key)
          : `${prefix}.${String(key)}`,
    at,
  );
  return path === '' ? issue.message : `${path}: ${issue.message}`;
};

/** The value is shown cut: a reason is logged, and an id may be a megabyte long. */
const describeInvalidId = (invalid: InvalidId): string =>
  `${invalid.kind} ${JSON.stringify(ellipsize(invalid.value, 80))} is invalid: expected ${invalid.expected}`;

/** Optional domain fields are left out rather than set to `undefined` (exactOptionalPropertyTypes). */
const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);
