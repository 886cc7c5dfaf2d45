import { readdir, readFile } from 'node:fs/promises';
import { hexOf } from '@prestabot/adapters-webcrypto';
import { type StorageError, storageError } from '@prestabot/application';
import { err, ok, okAsync, type Result, ResultAsync, safeTry } from '@prestabot/domain';
import { bypassRow, ledgerRow } from './health.rows.ts';
import { readOptionalRow, readRows } from './sql/read-rows.ts';
import type { SqlDriver, SqlRow } from './sql/sql-driver.ts';

export type Migration = { readonly name: string; readonly sql: string; readonly checksum: string };

export type MigrationReport = { readonly applied: readonly string[] };

/** How the database's migrations compare with the files shipped with this code. */
export type MigrationStatus = {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
  /** Applied, but the file changed since: someone edited a migration instead of adding one. */
  readonly changed: readonly string[];
  /** Applied by a newer release: no file here has the name. */
  readonly unknown: readonly string[];
};

/** Beside `src/` and `dist/` alike, so the same URL finds them from the sources and from the build. */
const migrationsDirectory = new URL('../migrations/', import.meta.url);

const migrationFileName = /^\d{4}_[a-z0-9_]+\.sql$/;

/** Serializes migrating processes: an arbitrary constant that only PrestaBot's migrations lock. */
const migrationLockKey = 7_206_481_393;

const ledger = 'prestabot.prestabot_schema_migrations';

/** SHA-256 of the file with its line endings normalised, so a checkout on Windows is not a change. */
const checksumOf = async (sql: string): Promise<string> =>
  hexOf(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sql.replaceAll('\r\n', '\n'))));

/** Every migration file, in name order. */
export const loadMigrations = (
  directory: URL = migrationsDirectory,
): ResultAsync<readonly Migration[], StorageError> =>
  ResultAsync.fromThrowable(
    async () => {
      const names = (await readdir(directory)).filter((name) => migrationFileName.test(name)).sort();
      return Promise.all(
        names.map(async (name) => {
          const sql = await readFile(new URL(name, directory), 'utf8');
          return { name, sql, checksum: await checksumOf(sql) };
        }),
      );
    },
    (error) =>
      storageError(
        'unexpected',
        `cannot read the migrations in ${directory.pathname}: ${error instanceof Error ? error.message : String(error)}`,
      ),
  )();

type Query = (text: string) => ResultAsync<readonly SqlRow[], StorageError>;

/** Name → checksum of every applied migration; empty before the first migration created the ledger. */
const readApplied = (query: Query): ResultAsync<ReadonlyMap<string, string>, StorageError> =>
  query(`SELECT to_regclass('${ledger}') IS NOT NULL AS present`)
    .andThen((rows) =>
      rows[0]?.present === true
        ? query(`SELECT name, checksum FROM ${ledger} ORDER BY name`).andThen(
            readRows(ledgerRow, 'migration ledger'),
          )
        : okAsync([]),
    )
    .map((rows) => new Map(rows.map((row) => [row.name, row.checksum])));

const createLedger = `
  CREATE SCHEMA IF NOT EXISTS prestabot;
  CREATE TABLE IF NOT EXISTS ${ledger} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  ALTER TABLE ${ledger} ENABLE ROW LEVEL SECURITY;
  ALTER TABLE ${ledger} FORCE ROW LEVEL SECURITY;
  REVOKE ALL ON ${ledger} FROM PUBLIC;`;

/** The definer functions see every tenant only because their owner, the migrating role, bypasses RLS. */
const requireBypassingRole = (query: Query): ResultAsync<void, StorageError> =>
  query('SELECT rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user')
    .andThen(readOptionalRow(bypassRow, 'current role'))
    .andThen((bypasses) =>
      bypasses === true
        ? ok(undefined)
        : err(
            storageError(
              'constraint',
              "migrations must run as a role that bypasses row-level security (a superuser, or a role with BYPASSRLS such as Supabase's postgres): the cross-tenant functions they create run as that role",
            ),
          ),
    );

const statusOf = (
  applied: ReadonlyMap<string, string>,
  migrations: readonly Migration[],
): MigrationStatus => {
  const shipped = new Map(migrations.map((migration) => [migration.name, migration.checksum]));
  return {
    applied: [...applied.keys()].filter((name) => shipped.has(name)),
    pending: migrations.map((migration) => migration.name).filter((name) => !applied.has(name)),
    changed: [...applied]
      .filter(([name, checksum]) => shipped.has(name) && shipped.get(name) !== checksum)
      .map(([name]) => name),
    unknown: [...applied.keys()].filter((name) => !shipped.has(name)),
  };
};

const refuseChanged = (status: MigrationStatus): Result<MigrationStatus, StorageError> =>
  status.changed.length === 0
    ? ok(status)
    : err(
        storageError(
          'unexpected',
          `migration ${status.changed.join(', ')} changed after it was applied: restore the file and add a new migration instead`,
        ),
      );

/** Applies one migration in its own transaction, unless it is applied already; true when it ran now. */
const applyOne = (
  driver: SqlDriver,
  migration: Migration,
  migrations: readonly Migration[],
): ResultAsync<boolean, StorageError> =>
  driver.transaction((session) =>
    session
      .query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`)
      .andThen(() => requireBypassingRole((text) => session.query(text)))
      .andThen(() => readApplied((text) => session.query(text)))
      .andThen((applied) => refuseChanged(statusOf(applied, migrations)).map(() => applied))
      .andThen((applied) => {
        if (applied.has(migration.name)) return okAsync(false);
        return (applied.size === 0 ? session.script(createLedger) : okAsync(undefined))
          .andThen(() => session.script(migration.sql))
          .andThen(() =>
            session.query(`INSERT INTO ${ledger} (name, checksum) VALUES ($1, $2)`, [
              migration.name,
              migration.checksum,
            ]),
          )
          .map(() => true);
      }),
  );

const shippedOr = (migrations: readonly Migration[] | undefined) =>
  migrations === undefined ? loadMigrations() : okAsync(migrations);

/**
 * Applies the pending migrations in name order, each in its own transaction under an advisory lock, so
 * two processes migrating at once apply each migration once. Idempotent. A migration whose file changed
 * after it was applied is an error. Run it as a role that bypasses row-level security (see 0001).
 */
export const migrate = (
  driver: SqlDriver,
  migrations?: readonly Migration[],
): ResultAsync<MigrationReport, StorageError> =>
  shippedOr(migrations).andThen((all) =>
    safeTry(async function* () {
      const applied: string[] = [];
      for (const migration of all) {
        if (yield* applyOne(driver, migration, all)) applied.push(migration.name);
      }
      return ok({ applied });
    }),
  );

/** How the database's migrations compare with the shipped files. Only reads: it creates no ledger. */
export const migrationStatus = (
  driver: SqlDriver,
  migrations?: readonly Migration[],
): ResultAsync<MigrationStatus, StorageError> =>
  shippedOr(migrations).andThen((all) =>
    readApplied((text) => driver.query(text)).map((applied) => statusOf(applied, all)),
  );
