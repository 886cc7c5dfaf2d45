import {
  defined,
  err,
  errAsync,
  type InboundContent,
  type InboundMessage,
  type InboundStatus,
  ok,
  okAsync,
  type PhoneNumberId,
  type Result,
  type ResultAsync,
  type WabaId,
  type Wamid,
  type WebhookBatch,
  type WebhookItem,
} from '@prestabot/domain';
import type {
  SignatureError,
  WebhookParseError,
  WebhookParser,
  WebhookSecret,
  WebhookSignatureVerifier,
} from '../ports/webhook.port.ts';

/**
 * Test doubles for the webhook boundary, so use cases can be tested without Meta's wire format: a body
 * is "signed" with `test:<secret>`, and the body is a domain batch as JSON.
 */
export const testSignature = (secret: string): string => `test:${secret}`;

export class TestSignatureVerifier implements WebhookSignatureVerifier {
  checkHeader(header: string | undefined): Result<void, SignatureError> {
    if (header === undefined) return err({ type: 'signature_missing' });
    if (!header.startsWith('test:')) return err({ type: 'signature_malformed' });
    return ok(undefined);
  }

  verify(
    _rawBody: Uint8Array,
    header: string | undefined,
    secrets: readonly WebhookSecret[],
  ): ResultAsync<WebhookSecret, SignatureError> {
    const checked = this.checkHeader(header);
    if (checked.isErr()) return errAsync(checked.error);
    const signer = secrets.find((candidate) => testSignature(candidate.secret) === header);
    return signer === undefined ? errAsync({ type: 'signature_mismatch' }) : okAsync(signer);
  }
}

const dateFields = new Set(['sentAt', 'at']);

export const encodeBatch = (items: readonly WebhookItem[]): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ items, ignored: [], rejected: [] } satisfies WebhookBatch));

export class JsonBatchParser implements WebhookParser {
  parse(rawBody: Uint8Array): Result<WebhookBatch, WebhookParseError> {
    try {
      const batch = JSON.parse(new TextDecoder().decode(rawBody), (key, value) =>
        dateFields.has(key) && typeof value === 'string' ? new Date(value) : value,
      ) as WebhookBatch;
      return ok(batch);
    } catch (error) {
      return err({ type: 'malformed_json', message: String(error) });
    }
  }
}

let wamidSequence = 0;

/** An inbound message as the parser would produce it. */
export const inboundMessage = (
  phoneNumberId: string,
  from: string,
  content: InboundContent,
  options: { readonly wamid?: string; readonly sentAt?: Date; readonly profileName?: string } = {},
): InboundMessage => {
  wamidSequence += 1;
  return {
    kind: 'message',
    phoneNumberId: phoneNumberId as PhoneNumberId,
    wabaId: '102290129340398' as WabaId,
    wamid: (options.wamid ?? `wamid.IN${wamidSequence.toString().padStart(10, '0')}`) as Wamid,
    from: { waId: from, ...defined({ profileName: options.profileName }) },
    sentAt: options.sentAt ?? new Date('2026-03-02T11:59:00.000Z'),
    content,
  };
};

export const inboundText = (
  phoneNumberId: string,
  from: string,
  body: string,
  options: Parameters<typeof inboundMessage>[3] = {},
) => inboundMessage(phoneNumberId, from, { type: 'text', body }, options);

/** A delivery status as the parser would produce it. */
export const deliveryStatus = (
  phoneNumberId: string,
  wamid: string,
  status: InboundStatus['status'],
  options: { readonly at?: Date; readonly errors?: InboundStatus['errors'] } = {},
): InboundStatus => ({
  kind: 'status',
  phoneNumberId: phoneNumberId as PhoneNumberId,
  wabaId: '102290129340398' as WabaId,
  wamid: wamid as Wamid,
  status,
  at: options.at ?? new Date('2026-03-02T12:00:05.000Z'),
  recipient: { waId: '56911112222' },
  errors: options.errors ?? [],
});
