import { errAsync, okAsync, type TenantId } from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { TenantStore } from '../../ports/tenant-store.port.ts';
import { duplicate, type State } from './state.ts';

export const tenantStore = (tenantId: TenantId, state: State): TenantStore => ({
  create: (tenant) => {
    if (tenant.id !== tenantId)
      return errAsync(storageError('constraint', 'a tenant can only be created in its own scope'));
    if (state.tenants.has(tenant.id)) return errAsync(duplicate(`tenant ${tenant.id} exists`));
    state.tenants.set(tenant.id, tenant);
    return okAsync(undefined);
  },
  current: () => okAsync(state.tenants.get(tenantId)),
  updateSettings: (settings) => {
    const tenant = state.tenants.get(tenantId);
    if (tenant !== undefined) state.tenants.set(tenantId, { ...tenant, settings });
    return okAsync(undefined);
  },
});
