import type { SignatureError, WebhookSecret, WebhookSignatureVerifier } from '@prestabot/application';
import { err, errAsync, ok, ResultAsync } from '@prestabot/domain';

const signatureHeaderPattern = /^sha256=([0-9a-fA-F]{64})$/;
const nonAsciiPattern = /[\u0080-\uffff]/g;
/** Secrets are few (one per Meta app); the bound only keeps rotated-out secrets from piling up. */
const maxCachedKeys = 32;

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

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

  verify(
    rawBody: Uint8Array,
    signatureHeader: string | undefined,
    secrets: readonly WebhookSecret[],
  ): ResultAsync<WebhookSecret, SignatureError> {
    if (signatureHeader === undefined || signatureHeader === '') {
      return errAsync({ type: 'signature_missing' as const });
    }
    const hex = signatureHeaderPattern.exec(signatureHeader)?.[1];
    if (hex === undefined) {
      return errAsync({ type: 'signature_malformed' as const });
    }
    return ResultAsync.fromSafePromise(this.#findSigner(rawBody, hexToBytes(hex), secrets)).andThen(
      (signer) => (signer === undefined ? err({ type: 'signature_mismatch' as const }) : ok(signer)),
    );
  }

  async #findSigner(
    rawBody: Uint8Array,
    signature: Uint8Array<ArrayBuffer>,
    secrets: readonly WebhookSecret[],
  ): Promise<WebhookSecret | undefined> {
    const signer = await this.#firstSignerOf(bufferSourceOf(rawBody), signature, secrets);
    if (signer !== undefined || !containsNonAscii(rawBody)) return signer;
    // Meta documents the signature as computed over the payload with non-ASCII escaped as lowercase
    // \uXXXX; a body that arrives with those characters unescaped only matches in that form.
    return this.#firstSignerOf(escapeNonAscii(rawBody), signature, secrets);
  }

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

/** Whether two MACs are equal, in a time that depends on their length only. */
const equalInConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= a[index]! ^ b[index]!;
  return difference === 0;
};

/** The `X-Hub-Signature-256` value Meta would send for `body`: for tests, the Graph fake and benchmarks. */
export const signWebhookBody = async (body: Uint8Array, secret: string): Promise<string> => {
  const mac = await crypto.subtle.sign('HMAC', await importHmacKey(secret), bufferSourceOf(body));
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

const containsNonAscii = (bytes: Uint8Array): boolean => bytes.some((byte) => byte > 0x7f);

/** JSON-style escapes, one per UTF-16 unit: `ä` → `\u00e4`, `😀` → `\ud83d\ude00`. */
const escapeNonAscii = (body: Uint8Array): Uint8Array<ArrayBuffer> =>
  encoder.encode(
    utf8
      .decode(body)
      .replace(nonAsciiPattern, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );

const hexToBytes = (hex: string): Uint8Array<ArrayBuffer> =>
  Uint8Array.from({ length: hex.length / 2 }, (_, index) =>
    Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16),
  );

const bytesToHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
