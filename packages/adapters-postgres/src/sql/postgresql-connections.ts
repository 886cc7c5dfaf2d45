import { Pool, type PoolClient } from 'pg';
import type { SqlConnection, SqlConnectionSource } from './sql-driver.ts';

export type PostgresqlConnectionOptions = {
  readonly connectionString: string;
  readonly poolSize: number;
  /** How long to wait for a connection before the call fails as `unavailable`. */
  readonly connectTimeoutMs: number;
  /** An idle pooled connection broke (server restart, network); the pool has already dropped it. */
  readonly onIdleConnectionError: (error: Error) => void;
};

const ignoreCheckedOutError = () => {
  // The failing statement reports it; an unhandled 'error' event would crash the process instead.
};

const connectionOf = (client: PoolClient): SqlConnection => ({
  pipelines: true,
  query: async (text, params) => {
    const result = await client.query(text, [...params]);
    return { rows: result.rows, command: result.command };
  },
  script: async (text) => {
    await client.query(text);
  },
  release: (broken) => {
    client.off('error', ignoreCheckedOutError);
    client.release(broken);
  },
});

/** A pool of connections to a PostgreSQL server; each transaction has one client to itself. */
export const postgresqlConnections = (options: PostgresqlConnectionOptions): SqlConnectionSource => {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: 'prestabot',
    // Statements are written without waiting for the one before: a transaction's BEGIN, settings and
    // first statement travel together, and a cross-tenant call with its COMMIT is one round trip.
    pipeline: true,
  });
  pool.on('error', options.onIdleConnectionError);
  return {
    name: 'postgresql',
    acquire: async () => {
      const client = await pool.connect();
      client.on('error', ignoreCheckedOutError);
      return connectionOf(client);
    },
    close: () => pool.end(),
  };
};
