import type { AppId, ContactId, PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';

/** A secret as it is stored: ciphertext and the id of the key that sealed it (for key rotation). */
export type SealedSecret = { readonly keyId: string; readonly ciphertext: string };

/**
 * Where a sealed secret is stored. A secret opens only where it was sealed for (AES-GCM additional data),
 * so a ciphertext copied into another row, column or tenant does not open.
 */
export type SecretPlace = {
  readonly table: string;
  readonly column: string;
  /** Absent for deployment rows (Meta apps). */
  readonly tenantId?: TenantId;
  /** The row's key in its table (with the tenant). */
  readonly rowId: string;
};

/** Every place a secret is stored: one name per table and column. */
export const secretPlaces = {
  accessToken: (tenantId: TenantId, phoneNumberId: PhoneNumberId): SecretPlace => ({
    table: 'whatsapp_numbers',
    column: 'token',
    tenantId,
    rowId: phoneNumberId,
  }),
  appSecret: (appId: AppId): SecretPlace => ({ table: 'meta_apps', column: 'secret', rowId: appId }),
  flowPrivateKey: (tenantId: TenantId, keyId: string): SecretPlace => ({
    table: 'flow_keys',
    column: 'private_key',
    tenantId,
    rowId: keyId,
  }),
  bankDetails: (tenantId: TenantId, contactId: ContactId): SecretPlace => ({
    table: 'contacts',
    column: 'bank_details',
    tenantId,
    rowId: contactId,
  }),
} as const;

export type SecretCipherError =
  /** No encryption key is configured; `message` says how to make one. */
  | { readonly type: 'encryption_key_missing'; readonly message: string }
  /** The ciphertext was sealed with a key we do not have, for another place, or was altered. */
  | { readonly type: 'secret_unreadable'; readonly keyId: string; readonly message: string };

/** Seals secrets (access tokens, app secrets, Flows private keys, bank details) before they reach storage. */
export interface SecretCipher {
  /** Seals `plaintext` for `place`: it opens there only. */
  seal(plaintext: string, place: SecretPlace): ResultAsync<SealedSecret, SecretCipherError>;
  /** Opens a secret read from `place`; one sealed before secrets were bound to places opens anywhere. */
  open(sealed: SealedSecret, place: SecretPlace): ResultAsync<string, SecretCipherError>;
  /** Whether `sealed` should be sealed again: by an older key, or not bound to its place yet. */
  isStale(sealed: SealedSecret): boolean;
}
