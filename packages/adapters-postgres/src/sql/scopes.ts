import type { StorageError } from '@prestabot/application';
import type { ResultAsync, TenantId } from '@prestabot/domain';
import type { SqlDriver, SqlRow, TransactionSettings } from './sql-driver.ts';

/** The role every application transaction acts as (created by the migrations). */
export const applicationRole = 'prestabot_app';

/** For the cross-tenant definer functions: the application role, no tenant. */
export const crossTenantScope: TransactionSettings = { role: applicationRole };

/** For a tenant's unit of work: the application role, and row-level security scoped to the tenant. */
export const tenantScope = (tenantId: TenantId): TransactionSettings => ({
  role: applicationRole,
  'app.tenant_id': tenantId,
});

/** One call of a cross-tenant definer function, in its own transaction as the application role: one round trip. */
export const callCrossTenant = (
  driver: SqlDriver,
  text: string,
  params: readonly unknown[] = [],
): ResultAsync<readonly SqlRow[], StorageError> => driver.statement(text, params, crossTenantScope);
