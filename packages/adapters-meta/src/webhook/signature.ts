import type { SignatureError, WebhookSecret, WebhookSignatureVerifier } from '@prestabot/application';
import { err, errAsync, ok, ResultAsync } from '@prestabot/domain';

const signatureHeaderPattern = /^sha256=([0-9a-fA-F]{64})$/;
const nonAsciiPattern = /[\u0080-\uffff]/g;
/** Secrets are few (one per Meta app); the bound only keeps rotated-out secrets from piling up. */
const maxCachedKeys = 32;

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/** Checks `X-Hub-Signature-256` (HMAC-SHA256 over the exact raw body) with WebCrypto only. */
export class WebCryptoSignatureVerifier implements WebhookSignatureVerifier {
  readonly #keys = new Map<string, CryptoKey>();

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
      // `verify` compares in constant time.
      if (await crypto.subtle.verify('HMAC', await this.#keyFor(candidate.secret), signature, body)) {
        return candidate;
      }
    }
    return undefined;
  }

  async #keyFor(secret: string): Promise<CryptoKey> {
    const cached = this.#keys.get(secret);
    if (cached !== undefined) return cached;
    const key = await importHmacKey(secret);
    if (this.#keys.size >= maxCachedKeys) this.#keys.clear();
    this.#keys.set(secret, key);
    return key;
  }
}

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
