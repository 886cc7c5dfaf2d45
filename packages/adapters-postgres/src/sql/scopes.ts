import type { StorageError } from '@prestabot/application';
import type { ResultAsync, TenantId } from '@prestabot/domain';
import type { SqlDriver, SqlRow, TransactionSettings } from './sql-driver.ts';

/** The role every application transaction acts as (created by the migrations). */
export const applicationRole = 'prestabot_app';

/**
 * The search_path every function of the schema pins (`SET search_path` in the migrations), and every
 * transaction the application opens: a foreign-key check's plan is cached once per connection and
 * constraint, whichever statement fires it, and PostgreSQL plans it again each time it runs under another
 * search_path than the last. With tenant transactions on the default path and the definer functions on
 * this one, the checks against numbers and contacts were planned again about four times per message.
 * Every name the application's statements use is schema-qualified, so nothing else changes.
 */
export const pinnedSearchPath = 'pg_catalog, pg_temp';

/** The application role and no tenant: what a cross-tenant definer function is called under in tests. */
export const crossTenantScope: TransactionSettings = {
  role: applicationRole,
  search_path: pinnedSearchPath,
};

/**
 * For a section that calls a cross-tenant function after tenants' sections (`SqlSession.section`): the
 * settings of a section that committed stay in force for the rest of its transaction, so the scope is
 * cleared explicitly.
 */
export const unscopedSection: TransactionSettings = { ...crossTenantScope, 'app.tenant_id': '' };

/** For a tenant's unit of work: the application role, and row-level security scoped to the tenant. */
export const tenantScope = (tenantId: TenantId): TransactionSettings => ({
  ...crossTenantScope,
  'app.tenant_id': tenantId,
});

/**
 * One call of a cross-tenant definer function: one statement, committed by itself. A definer function runs
 * as its owner whoever calls it, and refuses a tenant scope, so the call needs neither the application
 * role nor a transaction around it; BEGIN, the role and COMMIT around every claim, store and lookup were a
 * third of the statements the driver sent.
 */
export const callCrossTenant = (
  driver: SqlDriver,
  text: string,
  params: readonly unknown[] = [],
): ResultAsync<readonly SqlRow[], StorageError> => driver.query(text, params);
