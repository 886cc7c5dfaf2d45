import {
  type SealedSecret,
  type SecretCipher,
  type SecretPlace,
  type StorageError,
  secretPlaces,
  type TenantDirectory,
  type TenantUnitOfWork,
} from '@prestabot/application';
import {
  type AppId,
  defined,
  errAsync,
  type MetaAppId,
  ok,
  okAsync,
  type PhoneNumberId,
  ResultAsync,
  safeTry,
  type TenantId,
  type TokenStatus,
  type WhatsAppNumber,
} from '@prestabot/domain';
import { bypassRow, loginRow, roleRow, tableRow, versionRow } from './health.rows.ts';
import { type MigrationStatus, migrationStatus } from './migrate.ts';
import { readOptionalRow, readRow, readRows } from './sql/read-rows.ts';
import { applicationRole } from './sql/scopes.ts';
import type { SqlDriver } from './sql/sql-driver.ts';

/** A table of the `prestabot` schema and how row-level security guards it. */
export type TableIsolation = {
  readonly table: string;
  /** Has a `tenant_id` (or is `tenants`): its rows belong to tenants. */
  readonly tenantOwned: boolean;
  readonly rowSecurityEnabled: boolean;
  readonly rowSecurityForced: boolean;
  readonly policies: number;
};

export type ApplicationRoleStatus = {
  readonly name: string;
  readonly exists: boolean;
  readonly superuser: boolean;
  readonly bypassesRowSecurity: boolean;
  readonly canLogin: boolean;
  /** Tables, functions, types and schemas it owns in this database: must be none. */
  readonly ownedObjects: number;
  readonly memberOf: readonly string[];
};

export type NumberHealth = {
  readonly tenantId: TenantId;
  readonly tenantName: string;
  readonly phoneNumberId: PhoneNumberId;
  readonly tokenStatus: TokenStatus;
  /** Whether the configured cipher opens the sealed token (absent: no cipher given, or no token sealed). */
  readonly tokenReadable?: boolean;
} & Pick<WhatsAppNumber, 'meta' | 'qualityFlagged'>;

export type AppSecretHealth = {
  readonly appId: AppId;
  readonly metaAppId?: MetaAppId;
  /** Whether the configured cipher opens the app secret (absent: no cipher given). */
  readonly secretReadable?: boolean;
};

/** What `prestabot doctor` needs to know about the database; data, for the caller to judge and word. */
export type DatabaseHealth =
  | { readonly reachable: false; readonly error: StorageError }
  | {
      readonly reachable: true;
      readonly driver: 'postgresql' | 'pglite';
      readonly serverVersion: string;
      readonly migrations: MigrationStatus;
      readonly tables: readonly TableIsolation[];
      readonly applicationRole: ApplicationRoleStatus;
      /** The definer functions see every tenant only if their owner bypasses row-level security. */
      readonly definerOwnerBypassesRowSecurity: boolean;
      /** Absent until every migration is applied. */
      readonly numbers?: readonly NumberHealth[];
      readonly apps?: readonly AppSecretHealth[];
    };

const tablesSql = `
SELECT c.relname AS table,
       c.relname = 'tenants' OR EXISTS (
         SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
       ) AS tenant_owned,
       c.relrowsecurity AS row_security_enabled,
       c.relforcerowsecurity AS row_security_forced,
       (SELECT count(*)::integer FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'prestabot' AND c.relkind IN ('r', 'p')
ORDER BY c.relname`;

const roleSql = `
SELECT r.rolsuper AS superuser,
       r.rolbypassrls AS bypasses_row_security,
       r.rolcanlogin AS can_login,
       ((SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
        + (SELECT count(*) FROM pg_proc p WHERE p.proowner = r.oid)
        + (SELECT count(*) FROM pg_type t WHERE t.typowner = r.oid)
        + (SELECT count(*) FROM pg_namespace s WHERE s.nspowner = r.oid))::integer AS owned_objects,
       ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_roles r
WHERE r.rolname = $1`;

const missingRole: ApplicationRoleStatus = {
  name: applicationRole,
  exists: false,
  superuser: false,
  bypassesRowSecurity: false,
  canLogin: false,
  ownedObjects: 0,
  memberOf: [],
};

/** The role a connection logged in as, and whether it can leave row-level security. */
export type DatabaseLogin = {
  readonly name: string;
  /**
   * It is, or may become (membership, SET ROLE), a superuser, a role with BYPASSRLS, or the owner of the
   * schema: then a statement that runs RESET ROLE or SET ROLE sees every tenant.
   */
  readonly privileged: boolean;
};

const loginSql = `
SELECT session_user::text AS name,
       EXISTS (
         SELECT 1 FROM pg_roles g
         WHERE (g.rolsuper OR g.rolbypassrls
                OR g.oid = (SELECT s.nspowner FROM pg_namespace s WHERE s.nspname = 'prestabot'))
           AND pg_has_role(session_user, g.oid, 'MEMBER')
       ) AS privileged`;

/** Who `driver`'s connections log in as: `serve` warns, and `doctor` reports, when it is privileged. */
export const inspectLogin = (driver: SqlDriver): ResultAsync<DatabaseLogin, StorageError> =>
  driver.query(loginSql).andThen(readRow(loginRow, 'login'));

const definerOwnerSql = `
SELECT coalesce(bool_and(r.rolsuper OR r.rolbypassrls), false) AS bypasses
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_roles r ON r.oid = p.proowner
WHERE n.nspname = 'prestabot' AND p.prosecdef`;

export type DatabaseHealthDependencies = {
  readonly driver: SqlDriver;
  readonly directory: TenantDirectory;
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher?: SecretCipher;
};

/** Whether the cipher opens a sealed secret; the opened secret is dropped at once. */
/** Whether the cipher opens a sealed secret; the opened secret is dropped at once. */
const opens = (cipher: SecretCipher, sealed: SealedSecret, place: SecretPlace): ResultAsync<boolean, never> =>
  cipher
    .open(sealed, place)
    .map(() => true)
    .orElse(() => okAsync(false));

/** Which of a tenant's sealed tokens the cipher opens: one unit of work per tenant. */
const readableTokens = (
  deps: DatabaseHealthDependencies,
  cipher: SecretCipher,
  tenantId: TenantId,
  numbers: readonly WhatsAppNumber[],
): ResultAsync<ReadonlyMap<PhoneNumberId, boolean>, StorageError> =>
  deps.unitOfWork.run(tenantId, (repositories) =>
    safeTry(async function* () {
      const readable = new Map<PhoneNumberId, boolean>();
      for (const number of numbers) {
        const token = yield* repositories.numbers.token(number.phoneNumberId);
        if (token?.kind === 'sealed')
          readable.set(
            number.phoneNumberId,
            yield* opens(cipher, token.sealed, secretPlaces.accessToken(tenantId, number.phoneNumberId)),
          );
      }
      return ok(readable);
    }),
  );

const numbersHealth = (deps: DatabaseHealthDependencies) =>
  deps.directory.listTenants().andThen((tenants) =>
    ResultAsync.combine(
      tenants.map(({ tenant, numbers }) =>
        (deps.cipher === undefined
          ? okAsync(new Map<PhoneNumberId, boolean>())
          : readableTokens(deps, deps.cipher, tenant.id, numbers)
        ).map((readable) =>
          numbers.map((number): NumberHealth => {
            const tokenReadable = readable.get(number.phoneNumberId);
            return {
              tenantId: tenant.id,
              tenantName: tenant.name,
              phoneNumberId: number.phoneNumberId,
              tokenStatus: number.tokenStatus,
              ...defined({ tokenReadable }),
              ...defined({ meta: number.meta }),
              ...defined({ qualityFlagged: number.qualityFlagged }),
            };
          }),
        ),
      ),
    ).map((perTenant) => perTenant.flat()),
  );

const appsHealth = (deps: DatabaseHealthDependencies) =>
  deps.directory.listApps().andThen((apps) =>
    ResultAsync.combine(
      apps.map((app) =>
        (deps.cipher === undefined
          ? okAsync(undefined)
          : opens(deps.cipher, app.secret, secretPlaces.appSecret(app.id))
        ).map(
          (secretReadable): AppSecretHealth => ({
            appId: app.id,
            ...defined({ metaAppId: app.metaAppId }),
            ...defined({ secretReadable }),
          }),
        ),
      ),
    ),
  );

/**
 * Inspects the database for `prestabot doctor`: whether it answers, which migrations are pending, whether
 * every tenant table has row-level security enabled and forced, whether the application role is as weak
 * as it must be, and each number's token status. An unreachable database is a result, not an error.
 */
export const inspectDatabase = (
  deps: DatabaseHealthDependencies,
): ResultAsync<DatabaseHealth, StorageError> =>
  deps.driver
    .query('SELECT version() AS version')
    .andThen(readRow(versionRow, 'version'))
    .andThen((serverVersion) =>
      ResultAsync.combine([
        migrationStatus(deps.driver),
        deps.driver.query(tablesSql).andThen(readRows(tableRow, 'table')),
        deps.driver
          .query(roleSql, [applicationRole])
          .andThen(readOptionalRow(roleRow, 'role'))
          .map((role) => role ?? missingRole),
        deps.driver.query(definerOwnerSql).andThen(readRow(bypassRow, 'definer owner')),
      ] as const).andThen(([migrations, tables, role, definerOwnerBypassesRowSecurity]) => {
        const base = {
          reachable: true as const,
          driver: deps.driver.name,
          serverVersion,
          migrations,
          tables,
          applicationRole: role,
          definerOwnerBypassesRowSecurity,
        };
        if (migrations.pending.length > 0) return okAsync<DatabaseHealth, StorageError>(base);
        return ResultAsync.combine([numbersHealth(deps), appsHealth(deps)] as const).map(
          ([numbers, apps]): DatabaseHealth => ({ ...base, numbers, apps }),
        );
      }),
    )
    .orElse((error) =>
      error.reason === 'unavailable'
        ? okAsync<DatabaseHealth, StorageError>({ reachable: false, error })
        : errAsync(error),
    );
