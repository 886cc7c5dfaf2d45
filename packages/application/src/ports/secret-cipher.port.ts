import type { ResultAsync } from '@prestabot/domain';

/** A secret as it is stored: ciphertext and the id of the key that sealed it (for key rotation). */
export type SealedSecret = { readonly keyId: string; readonly ciphertext: string };

export type SecretCipherError =
  /** No encryption key is configured; `message` says how to make one. */
  | { readonly type: 'encryption_key_missing'; readonly message: string }
  /** The ciphertext was sealed with a key we do not have, or was altered. */
  | { readonly type: 'secret_unreadable'; readonly keyId: string; readonly message: string };

/** Seals secrets (access tokens, app secrets, Flows private keys) before they reach storage. */
export interface SecretCipher {
  seal(plaintext: string): ResultAsync<SealedSecret, SecretCipherError>;
  open(sealed: SealedSecret): ResultAsync<string, SecretCipherError>;
}
