import { err, errAsync, isJsonObject, type JsonObject, ok, Result, ResultAsync } from '@prestabot/domain';
import * as z from 'zod';
import { base64ToBytes, bytesToBase64 } from './encoding.ts';
import type { FlowPrivateKey } from './keys.ts';

/** The body WhatsApp POSTs to the Flows endpoint; every field is standard base64. */
export type EncryptedFlowRequest = {
  /** AES-128-GCM ciphertext of the request JSON, its 16-byte tag appended. */
  readonly encrypted_flow_data: string;
  /** The AES key, RSA-OAEP (SHA-256) encrypted to the business public key. */
  readonly encrypted_aes_key: string;
  readonly initial_vector: string;
};

export type DecryptedFlowRequest = {
  readonly payload: JsonObject;
  /** The AES key WhatsApp chose for this exchange; the response is encrypted with it. */
  readonly aesKey: CryptoKey;
  /** The request IV; the response uses its bitwise complement. */
  readonly iv: Uint8Array<ArrayBuffer>;
  /** Which candidate key unwrapped the AES key: during a rotation, the current or the previous one. */
  readonly keyFingerprint: string;
};

/** Every case is answered 421, on which WhatsApp re-fetches the business public key and retries once. */
export type FlowDecryptionError =
  /** Not the three encrypted fields: plaintext "test" requests are refused, whatever they claim. */
  | { readonly type: 'not_encrypted' }
  | { readonly type: 'malformed'; readonly reason: string }
  | {
      readonly type: 'undecryptable';
      readonly reason: 'no_key_unwraps' | 'authentication_failed' | 'not_a_json_object';
    };

export type FlowResponseDecryptionError = Exclude<FlowDecryptionError, { readonly type: 'not_encrypted' }>;

/** What WhatsApp sends and remembers for one exchange, so the caller can read the answer. */
export type SealedFlowRequest = {
  readonly body: EncryptedFlowRequest;
  readonly aesKey: CryptoKey;
  readonly iv: Uint8Array<ArrayBuffer>;
};

const aesKeyBytes = 16;
const ivBytes = 16;
const tagBytes = 16;

const encryptedRequestSchema = z.looseObject({
  encrypted_flow_data: z.string(),
  encrypted_aes_key: z.string(),
  initial_vector: z.string(),
});

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Opens a Flows request: each candidate key is tried on the wrapped AES key (RSA-OAEP, SHA-256), then the
 * payload is decrypted and authenticated (AES-128-GCM, 16-byte IV and tag) and must be a JSON object.
 */
export const decryptFlowRequest = (
  body: unknown,
  keys: readonly FlowPrivateKey[],
): ResultAsync<DecryptedFlowRequest, FlowDecryptionError> => {
  const parsed = encryptedRequestSchema.safeParse(body);
  if (!parsed.success) return errAsync({ type: 'not_encrypted' });
  return decodeRequest(parsed.data).asyncAndThen(({ encryptedAesKey, iv, sealed }) =>
    unwrapAesKey(encryptedAesKey, keys).andThen(({ aesKey, keyFingerprint }) =>
      openJsonObject(aesKey, iv, sealed).map((payload) => ({ payload, aesKey, iv, keyFingerprint })),
    ),
  );
};

/** The response body: `response` as JSON, AES-128-GCM under the request's key and flipped IV, then base64. */
export const encryptFlowResponse = async (
  response: JsonObject,
  aesKey: CryptoKey,
  requestIv: Uint8Array,
): Promise<string> => bytesToBase64(await seal(aesKey, flippedIv(requestIv), response));

/**
 * What WhatsApp does before it POSTs: a fresh AES-128 key wrapped to the business public key, a fresh
 * 16-byte IV. For the fake WhatsApp client and tests.
 */
export const encryptFlowRequest = async (
  payload: JsonObject,
  publicKey: CryptoKey,
): Promise<SealedFlowRequest> => {
  const rawAesKey = crypto.getRandomValues(new Uint8Array(aesKeyBytes));
  const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
  const aesKey = await importAesKey(rawAesKey);
  const encryptedAesKey = await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, publicKey, rawAesKey);
  return {
    body: {
      encrypted_flow_data: bytesToBase64(await seal(aesKey, iv, payload)),
      encrypted_aes_key: bytesToBase64(new Uint8Array(encryptedAesKey)),
      initial_vector: bytesToBase64(iv),
    },
    aesKey,
    iv,
  };
};

/** What WhatsApp does with the endpoint's answer: base64, then AES-128-GCM under the flipped request IV. */
export const decryptFlowResponse = (
  body: string,
  aesKey: CryptoKey,
  requestIv: Uint8Array,
): ResultAsync<JsonObject, FlowResponseDecryptionError> =>
  base64Field('response', body)
    .andThen((sealed) => requireSealedLength('response', sealed))
    .asyncAndThen((sealed) => openJsonObject(aesKey, flippedIv(requestIv), sealed));

type DecodedRequest = {
  readonly encryptedAesKey: Uint8Array<ArrayBuffer>;
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly sealed: Uint8Array<ArrayBuffer>;
};

const decodeRequest = (request: EncryptedFlowRequest): Result<DecodedRequest, FlowDecryptionError> =>
  Result.combine([
    base64Field('encrypted_aes_key', request.encrypted_aes_key),
    base64Field('initial_vector', request.initial_vector).andThen((iv) =>
      iv.length === ivBytes
        ? ok(iv)
        : err(malformed(`initial_vector has ${iv.length} bytes, not ${ivBytes}`)),
    ),
    base64Field('encrypted_flow_data', request.encrypted_flow_data).andThen((sealed) =>
      requireSealedLength('encrypted_flow_data', sealed),
    ),
  ]).map(([encryptedAesKey, iv, sealed]) => ({ encryptedAesKey, iv, sealed }));

const base64Field = (
  field: string,
  text: string,
): Result<Uint8Array<ArrayBuffer>, FlowResponseDecryptionError> => {
  const bytes = base64ToBytes(text);
  return bytes === undefined ? err(malformed(`${field} is not base64`)) : ok(bytes);
};

const requireSealedLength = (
  field: string,
  sealed: Uint8Array<ArrayBuffer>,
): Result<Uint8Array<ArrayBuffer>, FlowResponseDecryptionError> =>
  sealed.length >= tagBytes
    ? ok(sealed)
    : err(malformed(`${field} has ${sealed.length} bytes, fewer than its ${tagBytes}-byte tag`));

const unwrapAesKey = (
  encryptedAesKey: Uint8Array<ArrayBuffer>,
  keys: readonly FlowPrivateKey[],
): ResultAsync<{ readonly aesKey: CryptoKey; readonly keyFingerprint: string }, FlowDecryptionError> =>
  ResultAsync.fromSafePromise(firstUnwrapping(encryptedAesKey, keys)).andThen((unwrapped) => {
    if (unwrapped === undefined) return errAsync(undecryptable('no_key_unwraps'));
    if (unwrapped.rawAesKey.length !== aesKeyBytes) {
      return errAsync(malformed(`the AES key has ${unwrapped.rawAesKey.length} bytes, not ${aesKeyBytes}`));
    }
    return ResultAsync.fromSafePromise(importAesKey(unwrapped.rawAesKey)).map((aesKey) => ({
      aesKey,
      keyFingerprint: unwrapped.keyFingerprint,
    }));
  });

/** OAEP decryption checks its padding, so a key that is not the right one fails instead of yielding noise. */
const firstUnwrapping = async (
  encryptedAesKey: Uint8Array<ArrayBuffer>,
  keys: readonly FlowPrivateKey[],
): Promise<{ readonly rawAesKey: Uint8Array<ArrayBuffer>; readonly keyFingerprint: string } | undefined> => {
  for (const key of keys) {
    const rawAesKey = await crypto.subtle
      .decrypt({ name: 'RSA-OAEP' }, key.decryptionKey, encryptedAesKey)
      .then(
        (bytes) => new Uint8Array(bytes),
        () => undefined,
      );
    if (rawAesKey !== undefined) return { rawAesKey, keyFingerprint: key.fingerprint };
  }
  return undefined;
};

/** Decrypts and authenticates: a changed bit anywhere (IV, ciphertext, tag) fails the tag check. */
const openJsonObject = (
  aesKey: CryptoKey,
  iv: Uint8Array<ArrayBuffer>,
  sealed: Uint8Array<ArrayBuffer>,
): ResultAsync<JsonObject, FlowResponseDecryptionError> =>
  ResultAsync.fromPromise(crypto.subtle.decrypt({ name: 'AES-GCM', iv }, aesKey, sealed), () =>
    undecryptable('authentication_failed'),
  ).andThen((plaintext) => {
    const json = parseJson(new Uint8Array(plaintext));
    return json.isOk() && isJsonObject(json.value) ? ok(json.value) : err(undecryptable('not_a_json_object'));
  });

const seal = async (
  aesKey: CryptoKey,
  iv: Uint8Array<ArrayBuffer>,
  content: JsonObject,
): Promise<Uint8Array> =>
  new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, encoder.encode(JSON.stringify(content))),
  );

const importAesKey = (raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);

/** Every bit of the request IV inverted, so request and response never share a (key, IV) pair under GCM. */
const flippedIv = (iv: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(iv, (byte) => byte ^ 0xff);

const parseJson = Result.fromThrowable(
  (bytes: Uint8Array): unknown => JSON.parse(utf8.decode(bytes)),
  () => undefined,
);

const malformed = (reason: string): FlowResponseDecryptionError => ({ type: 'malformed', reason });

const undecryptable = (
  reason: Extract<FlowDecryptionError, { readonly type: 'undecryptable' }>['reason'],
): FlowResponseDecryptionError => ({ type: 'undecryptable', reason });
