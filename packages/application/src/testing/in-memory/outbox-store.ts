import { errAsync, okAsync, type TenantId } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { OutboxStore } from '../../ports/outbox.port.ts';
import { isBusinessInitiatedRow, messagingLimitRoom } from './messaging-limits.ts';
import { ownNumber } from './number-store.ts';
import { leaseSends } from './outbox-queue.ts';
import { outboxEntryOf, outboxKeyOf, type State } from './state.ts';

export const outboxStore = (tenantId: TenantId, state: State): OutboxStore => {
  return {
    enqueue: (entries) => {
      const enqueued: string[] = [];
      for (const entry of entries) {
        const key =
          entry.idempotencyKey === undefined ? undefined : outboxKeyOf(tenantId, entry.idempotencyKey);
        if (key !== undefined && state.outboxKeys.has(key)) continue;
        if (ownNumber(tenantId, state, entry.phoneNumberId) === undefined) {
          return errAsync(storageError('constraint', `number ${entry.phoneNumberId} is not this tenant's`));
        }
        if (entry.contactId !== undefined && state.contacts.get(entry.contactId)?.tenantId !== tenantId) {
          return errAsync(storageError('constraint', `contact ${entry.contactId} is not this tenant's`));
        }
        if (key !== undefined) state.outboxKeys.set(key, entry.id);
        state.pendingOutbox.set(entry.id, true);
        state.outbox.set(entry.id, {
          entry,
          tenantId,
          status: 'pending',
          attempts: 0,
          availableAt: entry.notBefore,
        });
        enqueued.push(entry.id);
      }
      return okAsync({ enqueued, duplicates: entries.length - enqueued.length });
    },
    get: (id) => {
      const row = state.outbox.get(id);
      return okAsync(row?.tenantId === tenantId ? outboxEntryOf(row) : undefined);
    },
    messagingLimitRoom: (phoneNumberId, recipient, now) =>
      okAsync(messagingLimitRoom(state, tenantId, phoneNumberId, recipient, now)),
    lease: (request) =>
      okAsync(
        leaseSends(state, {
          ...request,
          // Never a business-initiated message: its limit is its portfolio's, which other tenants may share.
          ids: request.ids.filter((id) => {
            const row = state.outbox.get(id);
            return row?.tenantId === tenantId && !isBusinessInitiatedRow(row);
          }),
        }),
      ),
  };
};
