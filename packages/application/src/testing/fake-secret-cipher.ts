import { errAsync, okAsync, type ResultAsync } from '@prestabot/domain';
import type {
  SealedSecret,
  SecretCipher,
  SecretCipherError,
  SecretPlace,
} from '../ports/secret-cipher.port.ts';

const toHex = (text: string): string =>
  [...text].map((char) => ((char.codePointAt(0) ?? 0) ^ 0x5a5a).toString(16).padStart(6, '0')).join('');
const fromHex = (hex: string): string =>
  (hex.match(/.{6}/g) ?? []).map((unit) => String.fromCodePoint(Number.parseInt(unit, 16) ^ 0x5a5a)).join('');

/** A check value, so an altered ciphertext is noticed like AES-GCM's tag would notice it. */
const checksum = (text: string): string => {
  let hash = 2166136261;
  for (const char of text) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  return hash.toString(16).padStart(8, '0');
};

const placeOf = (place: SecretPlace): string =>
  JSON.stringify([place.table, place.column, place.tenantId ?? null, place.rowId]);

/**
 * A reversible stand-in for the AES-GCM cipher: sealed text never equals the plaintext, and a missing
 * key, a foreign key id or another place fail the way the real cipher does. Not encryption.
 */
export class FakeSecretCipher implements SecretCipher {
  readonly #keyId: string | null;
  readonly #opening: ReadonlySet<string>;
  #nonce = 0;

  /** `null`: no key configured. `previousKeyIds` only open (a rotation). */
  constructor(keyId: string | null = 'test-key', previousKeyIds: readonly string[] = []) {
    this.#keyId = keyId;
    this.#opening = new Set([...previousKeyIds, ...(keyId === null ? [] : [keyId])]);
  }

  seal(plaintext: string, place: SecretPlace): ResultAsync<SealedSecret, SecretCipherError> {
    if (this.#keyId === null) {
      return errAsync({
        type: 'encryption_key_missing',
        message: 'PRESTABOT_ENCRYPTION_KEY is not set (test cipher)',
      });
    }
    this.#nonce += 1;
    const body = `${this.#nonce}.${toHex(plaintext)}`;
    return okAsync({
      keyId: this.#keyId,
      ciphertext: `${body}.${checksum(`${this.#keyId}|${placeOf(place)}|${body}`)}`,
    });
  }

  open(sealed: SealedSecret, place: SecretPlace): ResultAsync<string, SecretCipherError> {
    const [nonce, hex, check] = sealed.ciphertext.split('.');
    const body = `${nonce}.${hex}`;
    if (
      !this.#opening.has(sealed.keyId) ||
      hex === undefined ||
      check !== checksum(`${sealed.keyId}|${placeOf(place)}|${body}`)
    ) {
      return errAsync({
        type: 'secret_unreadable',
        keyId: sealed.keyId,
        message: `cannot open a secret sealed with key ${sealed.keyId} here`,
      });
    }
    return okAsync(fromHex(hex));
  }

  isStale(sealed: SealedSecret): boolean {
    return this.#keyId !== null && sealed.keyId !== this.#keyId;
  }
}
