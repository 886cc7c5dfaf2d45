import type { SignatureError, WebhookSecret, WebhookSignatureVerifier } from '@prestabot/application';
import { err, errAsync, ok, type Result, ResultAsync } from '@prestabot/domain';

const signatureHeaderPattern = /^sha256=([0-9a-fA-F]{64})$/;
/** Secrets are few (one per Meta app); the bound only keeps rotated-out secrets from piling up. */
const maxCachedKeys = 32;

const encoder = new TextEncoder();
/** Fails on bytes that are not UTF-8, and keeps a byte-order mark as the character it is. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const backslash = 0x5c;
const letterU = 0x75;
const lowerHexDigits = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/**
 * HMAC-SHA256 of `data` under the key `secret`. WebCrypto's runs everywhere; on Node it goes through the
 * thread pool and costs about 100 µs per small webhook, so the Node host passes node:crypto's (about 6 µs).
 */
export type HmacSha256 = (secret: string, data: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/** WebCrypto's HMAC-SHA256, with each secret imported once. */
export const webCryptoHmacSha256 = (): HmacSha256 => {
  const keys = new Map<string, Promise<CryptoKey>>();
  return async (secret, data) => {
    let key = keys.get(secret);
    if (key === undefined) {
      if (keys.size >= maxCachedKeys) keys.clear();
      key = importHmacKey(secret);
      keys.set(secret, key);
    }
    return new Uint8Array(await crypto.subtle.sign('HMAC', await key, bufferSourceOf(data)));
  };
};

/** Checks `X-Hub-Signature-256` (HMAC-SHA256 over the exact raw body), comparing in constant time. */
export class HmacSignatureVerifier implements WebhookSignatureVerifier {
  readonly #hmac: HmacSha256;

  constructor(options: { readonly hmac?: HmacSha256 } = {}) {
    this.#hmac = options.hmac ?? webCryptoHmacSha256();
  }

  checkHeader(signatureHeader: string | undefined): Result<void, SignatureError> {
    return signatureOfHeader(signatureHeader).map(() => undefined);
  }

  verify(
    rawBody: Uint8Array,
    signatureHeader: string | undefined,
    secrets: readonly WebhookSecret[],
  ): ResultAsync<WebhookSecret, SignatureError> {
    const signature = signatureOfHeader(signatureHeader);
    if (signature.isErr()) return errAsync(signature.error);
    return ResultAsync.fromSafePromise(
      this.#firstSignerOf(signedFormOf(rawBody), signature.value, secrets),
    ).andThen((signer) => (signer === undefined ? err({ type: 'signature_mismatch' as const }) : ok(signer)));
  }

  /** One MAC per secret, over the one form Meta signs: the work a forged request costs is bounded. */
  async #firstSignerOf(
    body: Uint8Array<ArrayBuffer>,
    signature: Uint8Array<ArrayBuffer>,
    secrets: readonly WebhookSecret[],
  ): Promise<WebhookSecret | undefined> {
    for (const candidate of secrets) {
      // WebCrypto cannot import an empty HMAC key, and no Meta app secret is empty.
      if (candidate.secret === '') continue;
      if (equalInConstantTime(await this.#hmac(candidate.secret, body), signature)) return candidate;
    }
    return undefined;
  }
}

const signatureOfHeader = (
  signatureHeader: string | undefined,
): Result<Uint8Array<ArrayBuffer>, SignatureError> => {
  if (signatureHeader === undefined || signatureHeader === '') return err({ type: 'signature_missing' });
  const hex = signatureHeaderPattern.exec(signatureHeader)?.[1];
  return hex === undefined ? err({ type: 'signature_malformed' }) : ok(hexToBytes(hex));
};

/** Whether two MACs are equal, in a time that depends on their length only. */
const equalInConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= a[index]! ^ b[index]!;
  return difference === 0;
};

/** The `X-Hub-Signature-256` value Meta would send for `body`: for tests, the Graph fake and benchmarks. */
export const signWebhookBody = async (body: Uint8Array, secret: string): Promise<string> => {
  const mac = await crypto.subtle.sign('HMAC', await importHmacKey(secret), signedFormOf(body));
  return `sha256=${bytesToHex(new Uint8Array(mac))}`;
};

const importHmacKey = (secret: string): Promise<CryptoKey> =>
  crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);

/** WebCrypto takes no views over a SharedArrayBuffer; those bodies are copied. */
const bufferSourceOf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);

/**
 * The bytes Meta's signature covers. Meta documents it as computed over the payload with non-ASCII escaped as
 * lowercase `\uXXXX`, one escape per UTF-16 unit (`ä` → `\u00e4`, `😀` → `\ud83d\ude00`), and sends its
 * bodies escaped that way: an ASCII body is signed as it is, and a body that arrives with those characters
 * unescaped (a proxy re-encoded it) matches only in its escaped form. Bytes that are not UTF-8 cannot have
 * been escaped by Meta, so they are taken as they are. One linear pass, at most three times the body's size.
 */
const signedFormOf = (body: Uint8Array): Uint8Array<ArrayBuffer> => {
  let firstNonAscii = 0;
  while (firstNonAscii < body.length && body[firstNonAscii]! < 0x80) firstNonAscii += 1;
  if (firstNonAscii === body.length) return bufferSourceOf(body);
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return bufferSourceOf(body);
  }
  // A 2-byte sequence becomes 6 bytes, a 4-byte one 12: never more than three times the input.
  const escaped = new Uint8Array(body.length * 3);
  escaped.set(body.subarray(0, firstNonAscii));
  let length = firstNonAscii;
  for (let index = firstNonAscii; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) {
      escaped[length++] = unit;
      continue;
    }
    escaped[length++] = backslash;
    escaped[length++] = letterU;
    for (let shift = 12; shift >= 0; shift -= 4) escaped[length++] = lowerHexDigits[(unit >> shift) & 0xf]!;
  }
  return escaped.slice(0, length);
};

/** `hex` is an even number of hex digits (the header pattern checked it). A loop: this runs per webhook. */
const hexToBytes = (hex: string): Uint8Array<ArrayBuffer> => {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index += 1)
    bytes[index] =
      (hexDigitValue(hex.charCodeAt(index * 2)) << 4) | hexDigitValue(hex.charCodeAt(index * 2 + 1));
  return bytes;
};

/** The value of a hex digit's character code: `0`–`9`, `a`–`f` or `A`–`F`. */
const hexDigitValue = (code: number): number => (code <= 0x39 ? code - 0x30 : (code | 0x20) - 0x57);

const bytesToHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
