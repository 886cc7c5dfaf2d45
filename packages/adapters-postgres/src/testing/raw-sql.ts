import type { StorageError } from '@prestabot/application';
import { err, errAsync, ok, type Result, type ResultAsync } from '@prestabot/domain';
import type { SqlDriver, SqlRow, TransactionSettings } from '../sql/sql-driver.ts';

/** One raw statement in a transaction of its own with `scope` (role, tenant), committed. */
export const queryIn = (
  driver: SqlDriver,
  scope: TransactionSettings,
  text: string,
  params: readonly unknown[] = [],
): ResultAsync<readonly SqlRow[], StorageError> =>
  driver.transaction((session) => session.query(text, params), scope);

type RolledBack = { readonly type: 'rolled_back'; readonly rows: readonly SqlRow[] };

/** One raw statement in a transaction with `scope` that is rolled back after: what it would see or do. */
export const tryIn = async (
  driver: SqlDriver,
  scope: TransactionSettings,
  text: string,
  params: readonly unknown[] = [],
): Promise<Result<readonly SqlRow[], StorageError>> => {
  const attempt = await driver.transaction(
    (session) =>
      session
        .query(text, params)
        .andThen((rows) => errAsync<never, RolledBack>({ type: 'rolled_back', rows })),
    scope,
  );
  if (attempt.isOk()) return ok(attempt.value);
  return attempt.error.type === 'rolled_back' ? ok(attempt.error.rows) : err(attempt.error);
};

/** The tables of the `prestabot` schema whose rows belong to tenants (a `tenant_id`, or `tenants` itself). */
export const tenantTablesSql = `
SELECT c.relname AS table
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'prestabot' AND c.relkind IN ('r', 'p')
  AND (c.relname = 'tenants' OR EXISTS (
    SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
ORDER BY c.relname`;
