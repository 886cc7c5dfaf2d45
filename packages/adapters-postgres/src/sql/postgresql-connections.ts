import { defined } from '@prestabot/domain';
import { Pool, type PoolClient } from 'pg';
import type { SqlConnection, SqlConnectionSource } from './sql-driver.ts';

export type PostgresqlConnectionOptions = {
  /**
   * The server, or a pool the embedding application already has: it is borrowed, never ended, and its
   * clients pipeline only if it was made with `pipeline: true`.
   */
  readonly server: { readonly connectionString: string } | { readonly pool: Pool };
  readonly poolSize: number;
  /** How long to wait for a connection before the call fails as `unavailable`. */
  readonly connectTimeoutMs: number;
  /** How long an idle connection stays open (0: until the pool ends); absent, pg's default. */
  readonly idleTimeoutMs?: number;
  /**
   * The server is reached through a transaction-mode pooler, which may run consecutive statements outside
   * a transaction on different server connections: statements are then neither prepared (a name prepared
   * on one connection is unknown on the next) nor pipelined.
   */
  readonly transactionPooler: boolean;
  /** An idle pooled connection broke (server restart, network); the pool has already dropped it. */
  readonly onIdleConnectionError: (error: Error) => void;
};

const ignoreCheckedOutError = () => {
  // The failing statement reports it; an unhandled 'error' event would crash the process instead.
};

/** The socket under a pg client, which pg's public types do not show. */
type Corkable = { cork(): void; uncork(): void; readonly writableCorked: number };

/**
 * Holds the client's writes until the statements issued together have all been written: statements
 * pipelined together (BEGIN, the settings, the first statement; a single statement and its COMMIT) then
 * leave in one write instead of one each. On loopback a write costs about as much as the statement.
 */
const corkWhileIssuing = (client: PoolClient): void => {
  const stream = (client as unknown as { connection?: { stream?: Partial<Corkable> } }).connection?.stream;
  if (stream?.cork === undefined || stream.uncork === undefined || (stream.writableCorked ?? 0) > 0) return;
  stream.cork();
  queueMicrotask(() => stream.uncork?.());
};

/**
 * Statements with parameters are prepared once per connection and then only bound and executed: parsing
 * and planning them again for every call was most of the server's work (a message is a dozen small
 * statements). Names are given per text, the same on every connection; texts are the code's own, so they
 * are few, and past `maxPreparedStatements` the rest go unprepared.
 */
const maxPreparedStatements = 500;
const statementNames = new Map<string, string>();
const nameOf = (text: string): string | undefined => {
  const known = statementNames.get(text);
  if (known !== undefined || statementNames.size >= maxPreparedStatements) return known;
  const name = `prestabot_${statementNames.size + 1}`;
  statementNames.set(text, name);
  return name;
};

const connectionOf = (client: PoolClient, transactionPooler: boolean, pipelines: boolean): SqlConnection => ({
  pipelines,
  query: async (text, params) => {
    corkWhileIssuing(client);
    const name = !transactionPooler && params.length > 0 ? nameOf(text) : undefined;
    const result = await client.query(
      name === undefined ? { text, values: [...params] } : { name, text, values: [...params] },
    );
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

/** The pool's own setting: pg has it but does not type it. */
const pipelinesOf = (pool: Pool): boolean =>
  (pool as unknown as { options?: { pipeline?: unknown } }).options?.pipeline === true;

/** A pool of connections to a PostgreSQL server; each transaction has one client to itself. */
export const postgresqlConnections = (options: PostgresqlConnectionOptions): SqlConnectionSource => {
  const { server } = options;
  const borrowed = 'pool' in server;
  const pool = borrowed
    ? server.pool
    : new Pool({
        connectionString: server.connectionString,
        max: options.poolSize,
        connectionTimeoutMillis: options.connectTimeoutMs,
        ...defined({ idleTimeoutMillis: options.idleTimeoutMs }),
        // TCP keep-alive probes on idle connections: a NAT or load balancer between here and the server
        // forgets a connection that is silent for minutes, and the first statement on it after a quiet
        // spell would then wait for TCP to give up instead of failing at once.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        application_name: 'prestabot',
        // Statements are written without waiting for the one before: a transaction's BEGIN, settings and
        // first statement travel together, and a cross-tenant call with its COMMIT is one round trip.
        pipeline: !options.transactionPooler,
      });
  const pipelines = !options.transactionPooler && pipelinesOf(pool);
  pool.on('error', options.onIdleConnectionError);
  return {
    name: 'postgresql',
    acquire: async () => {
      const client = await pool.connect();
      client.on('error', ignoreCheckedOutError);
      return connectionOf(client, options.transactionPooler, pipelines);
    },
    close: async () => {
      pool.off('error', options.onIdleConnectionError);
      if (!borrowed) await pool.end();
    },
  };
};
