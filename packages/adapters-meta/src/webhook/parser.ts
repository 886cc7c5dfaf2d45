import type { WebhookParseError, WebhookParser } from '@prestabot/application';
import {
  type AccountEvent,
  defined,
  err,
  type IgnoredChange,
  ok,
  parsePhoneNumberId,
  parseWabaId,
  type RejectedItem,
  Result,
  safeTry,
  type WebhookBatch,
  type WebhookItem,
  withoutLoneSurrogates,
} from '@prestabot/domain';
import { accountFields, readAccountEvent } from './account-events.ts';
import { readMessage } from './inbound-messages.ts';
import { readNumberError, readStatus } from './inbound-statuses.ts';
import * as wire from './payload.schema.ts';
import { describeInvalidId, type Routing, read } from './read-wire.ts';

type BatchBuilder = {
  items: WebhookItem[];
  accountEvents: AccountEvent[];
  ignored: IgnoredChange[];
  rejected: RejectedItem[];
};

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
      ...defined({ displayPhoneNumber: wireMetadata.display_phone_number }),
    });
  });
