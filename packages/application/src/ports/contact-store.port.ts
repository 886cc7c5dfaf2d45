import type { Contact, ContactId, E164, ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

/** Who a message came from, as far as Meta told us. At least one of `phone` and `userId` is present. */
export type ContactIdentity = {
  readonly phone?: E164;
  readonly userId?: string;
  readonly name?: string;
};

export type NewContact = ContactIdentity & { readonly id: ContactId };

/** The scoped tenant's contacts. */
export interface ContactStore {
  /**
   * Finds the contact by user id, then by phone; fills in what it lacked (name, user id, phone) or
   * creates it with `idIfNew`. `created` tells whether this is a new person for the tenant.
   */
  upsert(
    identity: ContactIdentity,
    idIfNew: ContactId,
  ): ResultAsync<{ readonly contact: Contact; readonly created: boolean }, StorageError>;
  get(id: ContactId): ResultAsync<Contact | undefined, StorageError>;
  findByPhone(phone: E164): ResultAsync<Contact | undefined, StorageError>;
  setOptedOut(id: ContactId, optedOut: boolean): ResultAsync<void, StorageError>;
}
