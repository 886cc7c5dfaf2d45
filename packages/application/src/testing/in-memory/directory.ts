import { okAsync, type PhoneNumberId } from '@prestabot/domain';
import type { FlowKeyDirectory } from '../../flows/flow-stores.port.ts';
import type { AppRegistry, NumberRoute, TenantDirectory } from '../../ports/tenant-directory.port.ts';
import { numberOf } from './number-store.ts';
import type { State, StateAccess } from './state.ts';

// What is looked up across tenants, as the adapter's `directory.ts`: numbers' routes, apps, flow keys.

const routeOf = (state: State, phoneNumberId: PhoneNumberId): NumberRoute | undefined => {
  const row = state.numbers.get(phoneNumberId);
  const tenant = row === undefined ? undefined : state.tenants.get(row.tenantId);
  return row === undefined || tenant === undefined ? undefined : { tenant, number: numberOf(row) };
};

export const inMemoryTenantDirectory = (access: StateAccess): TenantDirectory => ({
  findNumber: (phoneNumberId) => access.read((state) => routeOf(state, phoneNumberId)),
  findNumbers: (phoneNumberIds) =>
    access.read((state) => phoneNumberIds.flatMap((phoneNumberId) => routeOf(state, phoneNumberId) ?? [])),
  findWabaNumbers: (wabaId) =>
    access.read((state) =>
      [...state.numbers.values()]
        .filter((row) => row.wabaId === wabaId)
        .flatMap((row) => routeOf(state, row.phoneNumberId) ?? []),
    ),
  listApps: () => access.read((state) => [...state.apps.values()]),
  listTenants: () =>
    access.read((state) =>
      [...state.tenants.values()].map((tenant) => ({
        tenant,
        numbers: [...state.numbers.values()].filter((row) => row.tenantId === tenant.id).map(numberOf),
      })),
    ),
});

export const inMemoryAppRegistry = (access: StateAccess): AppRegistry => ({
  register: (app) =>
    access.transaction((state) => {
      const existing = [...state.apps.values()].find(
        (known) => app.metaAppId !== undefined && known.metaAppId === app.metaAppId,
      );
      const id = existing?.id ?? app.id;
      state.apps.set(id, { ...app, id });
      return okAsync(id);
    }),
});

export const inMemoryFlowKeyDirectory = (access: StateAccess): FlowKeyDirectory => ({
  listAll: () =>
    access.read((state) =>
      [...state.flowKeys.peekValues()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()),
    ),
});
