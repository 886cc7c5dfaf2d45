import type { SealedSecret, SecretCipher, SecretCipherError, SecretPlace } from '@prestabot/application';
import { err, errAsync, ok, okAsync, Result, ResultAsync } from '@prestabot/domain';
import { fromBase64, hexOf, toBase64 } from './encoding.ts';

// WebCrypto and TextEncoder only (no node:crypto, no Buffer): the same code runs on Deno.

const currentKeyVariable = 'PRESTABOT_ENCRYPTION_KEY';
const previousKeysVariable = 'PRESTABOT_PREVIOUS_ENCRYPTION_KEYS';
const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
/**
 * Marks a secret sealed for its place (AES-GCM additional data). Without it, a secret was sealed before
 * secrets were bound to places: it still opens, anywhere, and is stale until sealed again.
 */
const boundVersion = 'v2:';

/** The additional data of a place: unambiguous for any text in any field. */
const additionalDataOf = (place: SecretPlace): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(
    JSON.stringify(['prestabot secret', place.table, place.column, place.tenantId ?? null, place.rowId]),
  );

const howToMakeAKey =
  "make one with `openssl rand -base64 32` (or `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`)";

export type EncryptionKeyError = {
  readonly type: 'invalid_encryption_key';
  /** The environment variable at fault. */
  readonly variable: string;
  readonly expected: string;
  /** Names the variable and the expected form; never the key. */
  readonly message: string;
};

/** Key material as configured: the current key seals and opens; previous keys (rotation) only open. */
export type EncryptionKeySettings = {
  readonly PRESTABOT_ENCRYPTION_KEY?: string | undefined;
  /** Comma-separated, oldest last; kept until every secret they sealed was sealed again. */
  readonly PRESTABOT_PREVIOUS_ENCRYPTION_KEYS?: string | undefined;
};

type CipherKey = { readonly id: string; readonly key: CryptoKey };

const invalidKey = (variable: string, detail: string): EncryptionKeyError => {
  const expected = `base64 of exactly ${keyBytes} random bytes`;
  return {
    type: 'invalid_encryption_key',
    variable,
    expected,
    message: `${variable} must be ${expected} (${detail}); ${howToMakeAKey}`,
  };
};

const decodeKey = (variable: string, text: string): Result<Uint8Array<ArrayBuffer>, EncryptionKeyError> => {
  const bytes = fromBase64(text.trim());
  if (bytes === undefined) return err(invalidKey(variable, 'it is not base64'));
  if (bytes.length !== keyBytes) return err(invalidKey(variable, `it decodes to ${bytes.length} bytes`));
  return ok(bytes);
};

/** The key id: the first 8 hex digits of the key's SHA-256, stable for the key and revealing nothing of it. */
const importKey = (raw: Uint8Array<ArrayBuffer>): ResultAsync<CipherKey, never> =>
  ResultAsync.fromSafePromise(
    Promise.all([
      crypto.subtle.digest('SHA-256', raw),
      crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
    ]).then(([digest, key]) => ({ id: hexOf(digest).slice(0, 8), key })),
  );

const unreadable = (keyId: string, message: string): SecretCipherError => ({
  type: 'secret_unreadable',
  keyId,
  message,
});

/**
 * Seals secrets with AES-256-GCM: a random 12-byte IV per seal, the place (table, column, tenant, row) as
 * additional data, ciphertext = `v2:` base64(iv ‖ ct ‖ tag), and the id of the sealing key kept beside it,
 * so a rotated-out key can still open what it sealed.
 */
export class AesGcmSecretCipher implements SecretCipher {
  readonly #sealing: CipherKey | undefined;
  readonly #opening: ReadonlyMap<string, CryptoKey>;

  constructor(current: CipherKey | undefined, previous: readonly CipherKey[]) {
    this.#sealing = current;
    this.#opening = new Map(
      [...previous, ...(current === undefined ? [] : [current])].map(({ id, key }) => [id, key]),
    );
  }

  /** The id of the key that seals new secrets; undefined when no key is configured. */
  get keyId(): string | undefined {
    return this.#sealing?.id;
  }

  seal(plaintext: string, place: SecretPlace): ResultAsync<SealedSecret, SecretCipherError> {
    const sealing = this.#sealing;
    if (sealing === undefined) {
      return errAsync({
        type: 'encryption_key_missing',
        message: `${currentKeyVariable} is not set, so secrets cannot be stored encrypted: ${howToMakeAKey} and set it`,
      });
    }
    const iv = crypto.getRandomValues(new Uint8Array(ivBytes));
    // AES-GCM with an imported key and a 12-byte IV cannot fail: a rejection would be a bug.
    return ResultAsync.fromSafePromise(
      crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: additionalDataOf(place) },
        sealing.key,
        new TextEncoder().encode(plaintext),
      ),
    ).map((sealed) => {
      const bytes = new Uint8Array(ivBytes + sealed.byteLength);
      bytes.set(iv);
      bytes.set(new Uint8Array(sealed), ivBytes);
      return { keyId: sealing.id, ciphertext: `${boundVersion}${toBase64(bytes)}` };
    });
  }

  isStale(sealed: SealedSecret): boolean {
    return (
      this.#sealing !== undefined &&
      (sealed.keyId !== this.#sealing.id || !sealed.ciphertext.startsWith(boundVersion))
    );
  }

  open(sealed: SealedSecret, place: SecretPlace): ResultAsync<string, SecretCipherError> {
    const key = this.#opening.get(sealed.keyId);
    if (key === undefined) {
      return errAsync(
        unreadable(
          sealed.keyId,
          this.#opening.size === 0
            ? `no encryption key is configured (${currentKeyVariable}), so the secret sealed with key ${sealed.keyId} cannot be opened`
            : `no configured key has id ${sealed.keyId}: add the key that sealed it to ${previousKeysVariable}`,
        ),
      );
    }
    const bound = sealed.ciphertext.startsWith(boundVersion);
    const bytes = fromBase64(bound ? sealed.ciphertext.slice(boundVersion.length) : sealed.ciphertext);
    if (bytes === undefined || bytes.length < ivBytes + tagBytes)
      return errAsync(unreadable(sealed.keyId, 'the sealed secret is malformed'));
    const iv = bytes.slice(0, ivBytes);
    return ResultAsync.fromPromise(
      crypto.subtle.decrypt(
        bound ? { name: 'AES-GCM', iv, additionalData: additionalDataOf(place) } : { name: 'AES-GCM', iv },
        key,
        bytes.slice(ivBytes),
      ),
      () =>
        unreadable(
          sealed.keyId,
          `the secret sealed with key ${sealed.keyId} for ${place.table}.${place.column} does not open here: it was sealed for another row or tenant, altered, or sealed by another key`,
        ),
    ).map((plaintext) => new TextDecoder().decode(plaintext));
  }
}

/**
 * The keys as configured, each without surrounding whitespace (an env file or secret store may add a
 * newline); a blank current key counts as none. Whatever is derived from a key starts from this text.
 */
export const encryptionKeyTexts = (
  settings: EncryptionKeySettings,
): { readonly current?: string; readonly previous: readonly string[] } => {
  const current = settings.PRESTABOT_ENCRYPTION_KEY?.trim() ?? '';
  const previous = (settings.PRESTABOT_PREVIOUS_ENCRYPTION_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  return current === '' ? { previous } : { current, previous };
};

/**
 * Builds the cipher from configuration, validating every key. No current key is allowed (sealing then
 * fails with `encryption_key_missing`, saying how to make one); a malformed key is not.
 */
export const createAesGcmSecretCipher = (
  settings: EncryptionKeySettings,
): ResultAsync<AesGcmSecretCipher, EncryptionKeyError> => {
  const { current, previous } = encryptionKeyTexts(settings);
  const currentRaw = current === undefined ? ok(undefined) : decodeKey(currentKeyVariable, current);
  const previousRaw = Result.combine(previous.map((key) => decodeKey(previousKeysVariable, key)));
  return currentRaw.asyncAndThen((currentBytes) =>
    previousRaw.asyncAndThen((previousBytes) =>
      ResultAsync.combine([
        currentBytes === undefined ? okAsync(undefined) : importKey(currentBytes),
        ResultAsync.combine(previousBytes.map(importKey)),
      ] as const).map(([currentKey, previousKeys]) => new AesGcmSecretCipher(currentKey, previousKeys)),
    ),
  );
};
