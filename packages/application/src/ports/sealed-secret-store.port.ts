import type { ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { SealedSecret, SecretPlace } from './secret-cipher.port.ts';

/** A sealed secret as stored, and the place it is stored at. */
export type StoredSecret = { readonly place: SecretPlace; readonly sealed: SealedSecret };

/**
 * The scoped tenant's sealed secrets, whatever their table: access tokens, Flows private keys and bank
 * details. What `prestabot secrets reseal` walks to seal every one again under the current key.
 */
export interface SealedSecretStore {
  /** Every sealed secret of the tenant, each with its place (`secretPlaces`). */
  list(): ResultAsync<readonly StoredSecret[], StorageError>;
  /**
   * Stores `to` at `place` if `from` is still stored there; false when it is not (changed meanwhile, or
   * no such place in this tenant), and nothing is written.
   */
  replace(place: SecretPlace, from: SealedSecret, to: SealedSecret): ResultAsync<boolean, StorageError>;
}
