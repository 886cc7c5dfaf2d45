import type { Logger, Metrics, SecretCipher, StorageError, StoragePorts } from '@prestabot/application';
import { defined, ResultAsync } from '@prestabot/domain';
import type { Pool } from 'pg';
import { PostgresAppRegistry, PostgresFlowKeyDirectory, PostgresTenantDirectory } from './directory.ts';
import { type DatabaseHealth, type DatabaseLogin, inspectDatabase, inspectLogin } from './health.ts';
import { type MigrationReport, migrate } from './migrate.ts';
import {
  PostgresFinishedWorkRetention,
  PostgresInboxQueue,
  PostgresLeaseRenewal,
  PostgresOutboxQueue,
  PostgresReminderQueue,
} from './queues.ts';
import { PostgresUnitOfWork } from './repositories/unit-of-work.ts';
import { databaseTimeRow, readRow } from './sql/read-rows.ts';
import { type SqlConnectionSource, SqlDriver, type SqlTraffic } from './sql/sql-driver.ts';
import { storageErrorOf } from './sql/storage-error-of.ts';
import { PostgresUsageLedger } from './usage-ledger.ts';
import { warmUpConnections } from './warm-up.ts';

export type PostgresStorageOptions = {
  /** A PostgreSQL server (`DATABASE_URL`). Absent, and no `pool`: an embedded PGlite. */
  readonly databaseUrl?: string;
  /** A pool the embedding application owns, instead of `databaseUrl`: borrowed, never ended by `close`. */
  readonly pool?: Pool;
  /** PGlite's data directory (`PRESTABOT_DATA_DIR`). Absent: in memory, gone at close (tests). */
  readonly dataDir?: string;
  /** Connections to the server; each transaction holds one. */
  readonly poolSize?: number;
  /** How long to wait for a server connection before a call fails as `unavailable`. */
  readonly connectTimeoutMs?: number;
  /**
   * How long an idle connection stays open; 0 keeps it until `close`. Default: pg's 10 s. A connection
   * opened again later parses and plans the message path's functions anew on first use (see `warmUp`).
   */
  readonly idleTimeoutMs?: number;
  /**
   * `databaseUrl` is a transaction-mode pooler (Supabase's pooled port 6543, PgBouncer with
   * `pool_mode = transaction`): statements are then neither prepared nor pipelined. Default: false.
   */
  readonly transactionPooler?: boolean;
  /** Lets the health inspection tell whether every stored token and app secret can be opened. */
  readonly cipher?: SecretCipher;
  /** Told when an idle pooled connection breaks (it is replaced on next use). */
  readonly logger?: Logger;
  /** Counts statements, round trips and transactions (`db_*_total`). */
  readonly metrics?: Metrics;
};

/** Every storage port over one database, and its lifecycle. */
export type PostgresStorage = StoragePorts & {
  readonly driver: 'postgresql' | 'pglite';
  /** Applies pending migrations (idempotent); the connection's role must bypass row-level security. */
  readonly migrate: () => ResultAsync<MigrationReport, StorageError>;
  /** What `prestabot doctor` reports about the database. */
  readonly inspect: () => ResultAsync<DatabaseHealth, StorageError>;
  /** The role the connections log in as, and whether it can leave row-level security. */
  readonly login: () => ResultAsync<DatabaseLogin, StorageError>;
  /** The database's clock now (`clock_timestamp()`): the time every process of a deployment shares. */
  readonly databaseTime: () => ResultAsync<Date, StorageError>;
  /**
   * Opens the pool's connections and has the server compile the message path on each (`warm-up.ts`), before
   * a process serves: how many were warmed.
   */
  readonly warmUp: () => ResultAsync<number, StorageError>;
  readonly close: () => Promise<void>;
};

/**
 * Connections per process. A process holds one for each write under way: group commits of webhooks (four
 * at most, each answering the messages it stores) and of send outcomes (two), a claim, a lease, and each
 * tenant's unit of work (twelve at once): twenty-four leaves room for health checks.
 */
export const defaultPoolSize = 24;
export const defaultConnectTimeoutMs = 5000;

/**
 * Connects to the server at `databaseUrl`, or opens an embedded PGlite. Only the chosen driver is loaded:
 * a server deployment never loads PGlite's WebAssembly, an embedded one never loads pg. Nothing is migrated.
 */
export const openSqlDriver = (options: PostgresStorageOptions): ResultAsync<SqlDriver, StorageError> => {
  const { databaseUrl, pool, logger } = options;
  const server =
    pool === undefined
      ? databaseUrl === undefined
        ? undefined
        : { connectionString: databaseUrl }
      : { pool };
  const source: Promise<SqlConnectionSource> =
    server === undefined
      ? import('./sql/pglite-connections.ts').then(({ pgliteConnections }) =>
          pgliteConnections(options.dataDir),
        )
      : import('./sql/postgresql-connections.ts').then(({ postgresqlConnections }) =>
          postgresqlConnections({
            server,
            poolSize: options.poolSize ?? defaultPoolSize,
            connectTimeoutMs: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
            ...defined({ idleTimeoutMs: options.idleTimeoutMs }),
            transactionPooler: options.transactionPooler ?? false,
            onIdleConnectionError: (error) =>
              logger?.warn(
                { reason: storageErrorOf(error).message },
                'an idle database connection broke; the pool replaces it',
              ),
          }),
        );
  const { metrics } = options;
  const traffic: SqlTraffic | undefined =
    metrics === undefined
      ? undefined
      : {
          statement: () => metrics.increment('db_statements_total'),
          roundTrip: () => metrics.increment('db_round_trips_total'),
          transaction: (outcome) => metrics.increment('db_transactions_total', { outcome }),
        };
  return ResultAsync.fromPromise(source, storageErrorOf).map((opened) => new SqlDriver(opened, traffic));
};

/** Every port over an open driver. */
export const postgresStorageOn = (
  driver: SqlDriver,
  options: Pick<PostgresStorageOptions, 'cipher' | 'logger' | 'poolSize'> = {},
): PostgresStorage => {
  const unitOfWork = new PostgresUnitOfWork(driver);
  const directory = new PostgresTenantDirectory(driver);
  return {
    driver: driver.name,
    unitOfWork,
    directory,
    apps: new PostgresAppRegistry(driver),
    inboxQueue: new PostgresInboxQueue(driver, options.logger),
    outboxQueue: new PostgresOutboxQueue(driver, options.logger),
    reminderQueue: new PostgresReminderQueue(driver, options.logger),
    leaseRenewal: new PostgresLeaseRenewal(driver),
    flowKeyDirectory: new PostgresFlowKeyDirectory(driver),
    finishedWorkRetention: new PostgresFinishedWorkRetention(driver),
    usageLedger: new PostgresUsageLedger(driver),
    migrate: () => migrate(driver),
    databaseTime: () =>
      driver.query('SELECT clock_timestamp() AS now').andThen(readRow(databaseTimeRow, 'database time')),
    inspect: () =>
      inspectDatabase({
        driver,
        directory,
        unitOfWork,
        ...defined({ cipher: options.cipher }),
      }),
    login: () => inspectLogin(driver),
    warmUp: () => warmUpConnections(driver, options.poolSize ?? defaultPoolSize),
    close: () => driver.close(),
  };
};

/**
 * PostgreSQL storage: over a server through `pg` when `databaseUrl` is given, else embedded through
 * PGlite. Same migrations, same row-level security, same behaviour.
 */
export const createPostgresStorage = (
  options: PostgresStorageOptions = {},
): ResultAsync<PostgresStorage, StorageError> =>
  openSqlDriver(options).map((driver) => postgresStorageOn(driver, options));
