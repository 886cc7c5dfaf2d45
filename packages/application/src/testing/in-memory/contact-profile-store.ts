import { defined, errAsync, okAsync, type TenantId } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { ContactProfileStore } from '../../flows/flow-stores.port.ts';
import type { State } from './state.ts';

export const contactProfileStore = (tenantId: TenantId, state: State): ContactProfileStore => ({
  get: (contactId) => {
    const contact = state.contacts.get(contactId);
    if (contact?.tenantId !== tenantId) return okAsync(undefined);
    const stored = state.profiles.get(contactId);
    return okAsync({
      ...defined({ name: contact.name }),
      ...defined({ email: stored?.email, bankDetails: stored?.bankDetails }),
    });
  },
  save: (contactId, profile) => {
    const contact = state.contacts.get(contactId);
    if (contact?.tenantId !== tenantId) {
      return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
    }
    if (profile.name !== undefined) state.contacts.set(contactId, { ...contact, name: profile.name });
    const chosenName = profile.name ?? state.profiles.get(contactId)?.name;
    state.profiles.set(contactId, {
      tenantId,
      // Remembered as the person's own choice, which later WhatsApp profile names do not replace.
      ...defined({ name: chosenName }),
      ...defined({ email: profile.email }),
      ...defined({ bankDetails: profile.bankDetails }),
    });
    return okAsync(undefined);
  },
  recordSubmit: (contactId, tokenExpiresAt) => {
    if (state.contacts.get(contactId)?.tenantId !== tenantId) {
      return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
    }
    const recorded = state.profileSubmits.get(contactId);
    if (recorded !== undefined && recorded.getTime() >= tokenExpiresAt.getTime()) return okAsync(false);
    state.profileSubmits.set(contactId, tokenExpiresAt);
    return okAsync(true);
  },
});
