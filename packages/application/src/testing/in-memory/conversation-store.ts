import { type ContactId, errAsync, okAsync, type TenantId } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { ConversationStore } from '../../loans/loan-stores.port.ts';
import type { State } from './state.ts';

export const conversationStore = (tenantId: TenantId, state: State): ConversationStore => {
  const key = (contactId: ContactId) => `${tenantId}|${contactId}`;
  return {
    get: (contactId) => {
      const record = state.conversations.get(key(contactId));
      return okAsync(
        record === undefined
          ? undefined
          : { state: record.state, version: record.version, expiresAt: record.expiresAt },
      );
    },
    save: (contactId, conversation, expectedVersion, expiresAt) => {
      if (state.contacts.get(contactId)?.tenantId !== tenantId) {
        return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
      }
      const current = state.conversations.get(key(contactId))?.version ?? 0;
      if (current !== expectedVersion) return okAsync(false);
      state.conversations.set(key(contactId), {
        tenantId,
        state: conversation,
        version: current + 1,
        expiresAt,
      });
      return okAsync(true);
    },
    clear: (contactId) => {
      state.conversations.delete(key(contactId));
      return okAsync(undefined);
    },
  };
};
