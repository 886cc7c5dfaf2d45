import type { ContactId, TenantId } from './ids.ts';
import type { E164 } from './phone.ts';

/**
 * A person who writes to, or is written to by, one tenant's numbers. The same person on two tenants is
 * two unrelated contacts.
 */
export type Contact = {
  readonly id: ContactId;
  readonly tenantId: TenantId;
  /** Absent only for people Meta identifies by business-scoped user id alone. */
  readonly phone?: E164;
  /** Meta's business-scoped user id (`CC.…`), when Meta sends one. */
  readonly userId?: string;
  readonly name?: string;
  readonly optedOut: boolean;
};

/** How to address a person in a send: by phone, or by business-scoped user id when that is all we have. */
export type Recipient = { readonly phone: E164 } | { readonly userId: string };

export const recipientOf = (contact: Pick<Contact, 'phone' | 'userId'>): Recipient | undefined => {
  if (contact.phone !== undefined) return { phone: contact.phone };
  if (contact.userId !== undefined) return { userId: contact.userId };
  return undefined;
};

/** One string per recipient, for keys and comparisons. */
export const recipientKeyOf = (recipient: Recipient): string =>
  'phone' in recipient ? recipient.phone : `user:${recipient.userId}`;
