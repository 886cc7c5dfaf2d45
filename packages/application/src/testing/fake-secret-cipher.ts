import { errAsync, okAsync, type ResultAsync } from '@prestabot/domain';
import type { SealedSecret, SecretCipher, SecretCipherError } from '../ports/secret-cipher.port.ts';

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

/**
 * A reversible stand-in for the AES-GCM cipher: sealed text never equals the plaintext, and a missing
 * key or a foreign key id fail the way the real cipher does. Not encryption.
 */
export class FakeSecretCipher implements SecretCipher {
  readonly #keyId: string | null;
  #nonce = 0;

  /** `null`: no key configured. */
  constructor(keyId: string | null = 'test-key') {
    this.#keyId = keyId;
  }

  seal(plaintext: string): ResultAsync<SealedSecret, SecretCipherError> {
    if (this.#keyId === null) {
      return errAsync({
        type: 'encryption_key_missing',
        message: 'PRESTABOT_ENCRYPTION_KEY is not set (test cipher)',
      });
    }
    this.#nonce += 1;
    const body = `${this.#nonce}.${toHex(plaintext)}`;
    return okAsync({ keyId: this.#keyId, ciphertext: `${body}.${checksum(`${this.#keyId}|${body}`)}` });
  }

  open(sealed: SealedSecret): ResultAsync<string, SecretCipherError> {
    const [nonce, hex, check] = sealed.ciphertext.split('.');
    const body = `${nonce}.${hex}`;
    if (sealed.keyId !== this.#keyId || hex === undefined || check !== checksum(`${sealed.keyId}|${body}`)) {
      return errAsync({
        type: 'secret_unreadable',
        keyId: sealed.keyId,
        message: `cannot open a secret sealed with key ${sealed.keyId}`,
      });
    }
    return okAsync(fromHex(hex));
  }
}
