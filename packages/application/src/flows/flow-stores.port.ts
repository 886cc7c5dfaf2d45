import type { ContactId, PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { SealedSecret } from '../ports/secret-cipher.port.ts';

/**
 * A Flows endpoint private key, stored sealed. A key serves one number, or every number of its tenant
 * when `phoneNumberId` is absent. A rotated key keeps working until its grace period ends.
 */
export type StoredFlowKey = {
  readonly id: string;
  readonly phoneNumberId?: PhoneNumberId;
  /** Names the key without revealing it: the first 16 hex digits of SHA-256 over its public half. */
  readonly fingerprint: string;
  readonly privateKey: SealedSecret;
  readonly createdAt: Date;
  /** Set when a newer key replaced it. */
  readonly retiredAt?: Date;
  /**
   * When its grace period began: when a key that replaced it was registered with Meta. Absent on a retired
   * key while Meta still hands out its public half, so requests encrypted to it keep opening.
   */
  readonly graceFrom?: Date;
};

/** The scoped tenant's Flows keys. */
export interface FlowKeyStore {
  /** Adds the key as the current one for its number (or tenant), retiring the current one at `at`. */
  add(key: Omit<StoredFlowKey, 'retiredAt' | 'graceFrom'>, at: Date): ResultAsync<void, StorageError>;
  /**
   * The current key of the number (or, without one, the tenant's) was registered with Meta at `at`: the keys
   * it replaced begin their grace period then (those that had begun keep their start).
   */
  startGrace(phoneNumberId: PhoneNumberId | undefined, at: Date): ResultAsync<void, StorageError>;
  /** The keys of the tenant, newest first (current and retired). */
  list(): ResultAsync<readonly StoredFlowKey[], StorageError>;
}

/** Every tenant's Flows keys, for the endpoint, which learns the tenant only by decrypting. */
export interface FlowKeyDirectory {
  listAll(): ResultAsync<readonly (StoredFlowKey & { readonly tenantId: TenantId })[], StorageError>;
}

/** What the "My profile" Flow keeps about a person: how the lender gets paid back. */
export type ContactProfile = {
  readonly name?: string;
  readonly email?: string;
  /** Bank details for repayments, sealed: an account number is nobody else's business. */
  readonly bankDetails?: SealedSecret;
};

/** The profile part of a contact, in the scoped tenant. */
export interface ContactProfileStore {
  get(contactId: ContactId): ResultAsync<ContactProfile | undefined, StorageError>;
  save(contactId: ContactId, profile: ContactProfile): ResultAsync<void, StorageError>;
  /**
   * Records a profile submit from a Flow whose token expires at `tokenExpiresAt`: false, recording nothing,
   * when a submit with that token or a newer one (a later expiry) was recorded before, so that a flow token
   * saves a profile once. Tokens are told apart by expiry: the bot issues a person at most one a millisecond.
   */
  recordSubmit(contactId: ContactId, tokenExpiresAt: Date): ResultAsync<boolean, StorageError>;
}
