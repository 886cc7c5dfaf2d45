import type { ResultAsync, Tenant, TenantSettings } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

/** The tenant a unit of work is scoped to. */
export interface TenantStore {
  /** Creates the tenant; the unit of work must be scoped to `tenant.id`. */
  create(tenant: Tenant): ResultAsync<void, StorageError>;
  current(): ResultAsync<Tenant | undefined, StorageError>;
  updateSettings(settings: TenantSettings): ResultAsync<void, StorageError>;
}
