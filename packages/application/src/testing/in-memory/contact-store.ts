import { type Contact, errAsync, okAsync, type TenantId } from '@prestabot/domain';
import type { ContactIdentity, ContactStore } from '../../ports/contact-store.port.ts';
import { duplicate, type State } from './state.ts';

export const contactStore = (tenantId: TenantId, state: State): ContactStore => {
  const own = () => [...state.contacts.values()].filter((contact) => contact.tenantId === tenantId);
  const find = (identity: ContactIdentity) =>
    (identity.userId === undefined
      ? undefined
      : own().find((contact) => contact.userId === identity.userId)) ??
    (identity.phone === undefined ? undefined : own().find((contact) => contact.phone === identity.phone));
  return {
    upsert: (identity, idIfNew) => {
      const existing = find(identity);
      if (existing === undefined) {
        if (state.contacts.has(idIfNew)) return errAsync(duplicate(`contact ${idIfNew} exists`));
        const contact: Contact = { id: idIfNew, tenantId, optedOut: false, ...identity };
        state.contacts.set(contact.id, contact);
        return okAsync({ contact, created: true });
      }
      const phoneFree =
        identity.phone !== undefined &&
        !own().some((contact) => contact.id !== existing.id && contact.phone === identity.phone);
      const userIdFree =
        identity.userId !== undefined &&
        !own().some((contact) => contact.id !== existing.id && contact.userId === identity.userId);
      const updated: Contact = {
        ...existing,
        ...(existing.phone === undefined && phoneFree && identity.phone !== undefined
          ? { phone: identity.phone }
          : {}),
        ...(existing.userId === undefined && userIdFree && identity.userId !== undefined
          ? { userId: identity.userId }
          : {}),
        ...(identity.name === undefined || state.profiles.get(existing.id)?.name !== undefined
          ? {}
          : { name: identity.name }),
      };
      state.contacts.set(updated.id, updated);
      return okAsync({ contact: updated, created: false });
    },
    get: (id) => {
      const contact = state.contacts.get(id);
      return okAsync(contact?.tenantId === tenantId ? contact : undefined);
    },
    findByPhone: (phone) => okAsync(own().find((contact) => contact.phone === phone)),
    setOptedOut: (id, optedOut) => {
      const contact = state.contacts.get(id);
      if (contact?.tenantId === tenantId) state.contacts.set(id, { ...contact, optedOut });
      return okAsync(undefined);
    },
  };
};
