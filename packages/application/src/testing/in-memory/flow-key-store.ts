import { errAsync, okAsync, type TenantId } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { FlowKeyStore } from '../../flows/flow-stores.port.ts';
import { ownNumber } from './number-store.ts';
import type { State } from './state.ts';

export const flowKeyStore = (tenantId: TenantId, state: State): FlowKeyStore => ({
  add: (key, at) => {
    if (key.phoneNumberId !== undefined && ownNumber(tenantId, state, key.phoneNumberId) === undefined) {
      return errAsync(storageError('constraint', `number ${key.phoneNumberId} is not this tenant's`));
    }
    if (state.flowKeys.has(key.id)) return errAsync(storageError('duplicate', `flow key ${key.id} exists`));
    for (const [id, stored] of state.flowKeys) {
      if (
        stored.tenantId === tenantId &&
        stored.phoneNumberId === key.phoneNumberId &&
        stored.retiredAt === undefined
      ) {
        state.flowKeys.set(id, { ...stored, retiredAt: at });
      }
    }
    state.flowKeys.set(key.id, { ...key, tenantId });
    return okAsync(undefined);
  },
  startGrace: (phoneNumberId, at) => {
    for (const [id, stored] of state.flowKeys) {
      if (
        stored.tenantId === tenantId &&
        stored.phoneNumberId === phoneNumberId &&
        stored.retiredAt !== undefined &&
        stored.graceFrom === undefined
      ) {
        state.flowKeys.set(id, { ...stored, graceFrom: at });
      }
    }
    return okAsync(undefined);
  },
  list: () =>
    okAsync(
      [...state.flowKeys.peekValues()]
        .filter((key) => key.tenantId === tenantId)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map(({ tenantId: _tenant, ...key }) => key),
    ),
});
