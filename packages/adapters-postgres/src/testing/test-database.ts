import type { Logger, SecretCipher } from '@prestabot/application';
import { defined, err, ok, type Result } from '@prestabot/domain';
import type { Client } from 'pg';
import type { SqlDriver } from '../sql/sql-driver.ts';
import { openSqlDriver, type PostgresStorage, postgresStorageOn } from '../storage.ts';

/** A database of its own on a test server, for one test file. */
export type TestDatabase = {
  readonly name: string;
  /** Connects to the new database, as the server URL's user. */
  readonly url: string;
  /** Drops it, disconnecting whoever is still connected. */
  readonly drop: () => Promise<void>;
};

const withServer = async <T>(serverUrl: string, use: (client: Client) => Promise<T>): Promise<T> => {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
};

/**
 * The server a benchmark makes its database on: `--database-server`, else `TEST_POSTGRES_SERVER_URL`,
 * else the local one; refused (with the line to print) unless it is a postgres:// URL.
 */
export const benchmarkServerUrl = (flag: string | undefined): Result<string, string> => {
  const url = flag ?? process.env.TEST_POSTGRES_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  return URL.canParse(url) && /^postgres(ql)?:$/.test(new URL(url).protocol)
    ? ok(url)
    : err(`--database-server ${JSON.stringify(url)} must be a postgres://… URL of a server`);
};

/**
 * Creates a fresh, empty database (`prestabot_t_<random>`) on the server `serverUrl` points at (any of its
 * databases, typically `TEST_DATABASE_URL`), as that URL's user: a superuser, since the migrations create
 * a role and must bypass row-level security. Other packages' integration tests use it too.
 */
export const createTestDatabase = async (serverUrl: string): Promise<TestDatabase> => {
  const name = `prestabot_t_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await withServer(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      withServer(serverUrl, async (client) => {
        // Pools just closed may still be saying goodbye: forcing them out mid-goodbye makes their clients
        // emit an error nobody listens to any more (an unhandled error that fails the run). Wait for them.
        for (let waited = 0; waited < 5000; waited += 50) {
          const open = await client.query(
            'SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if (open.rows[0]?.open === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
};

/** A migrated storage on a database of its own, and the driver under it (for raw SQL in tests). */
export type TestStorage = {
  readonly storage: PostgresStorage;
  readonly driver: SqlDriver;
  /** The database's URL on a server (absent on PGlite): another "process" may open its own pool on it. */
  readonly databaseUrl?: string;
  /** Closes the storage and drops its database. */
  readonly release: () => Promise<void>;
};

const migrated = async (
  driver: SqlDriver,
  options: { readonly cipher?: SecretCipher; readonly logger?: Logger },
): Promise<PostgresStorage> => {
  const storage = postgresStorageOn(driver, options);
  const report = await storage.migrate();
  if (report.isErr()) throw new Error(`migrating the test database failed: ${report.error.message}`);
  return storage;
};

/**
 * A migrated storage for one test file: on a fresh database of the server at `serverUrl`, or, when
 * `serverUrl` is undefined, on an in-memory PGlite.
 */
export const openTestStorage = async (
  serverUrl: string | undefined,
  options: { readonly cipher?: SecretCipher; readonly poolSize?: number; readonly logger?: Logger } = {},
): Promise<TestStorage> => {
  const database = serverUrl === undefined ? undefined : await createTestDatabase(serverUrl);
  const opened = await openSqlDriver({
    ...(database === undefined ? {} : { databaseUrl: database.url }),
    ...defined({ poolSize: options.poolSize }),
  });
  if (opened.isErr()) throw new Error(`opening the test database failed: ${opened.error.message}`);
  const driver = opened.value;
  const storage = await migrated(driver, options);
  return {
    storage,
    driver,
    ...(database === undefined ? {} : { databaseUrl: database.url }),
    release: async () => {
      await storage.close();
      await database?.drop();
    },
  };
};
