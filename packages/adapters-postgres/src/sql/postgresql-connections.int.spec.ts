import { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresSkipReason, testServerUrl } from '../testing/each-driver.ts';
import { postgresqlConnections } from './postgresql-connections.ts';

const preparedOnConnection = async (transactionPooler: boolean) => {
  const source = postgresqlConnections({
    server: { connectionString: testServerUrl! },
    poolSize: 1,
    connectTimeoutMs: 5000,
    transactionPooler,
    onIdleConnectionError: () => {},
  });
  try {
    const connection = await source.acquire();
    try {
      await connection.query('SELECT $1::integer AS one', [1]);
      const { rows } = await connection.query(
        "SELECT count(*)::integer AS prepared FROM pg_prepared_statements WHERE name LIKE 'prestabot\\_%'",
        [],
      );
      return { pipelines: connection.pipelines, prepared: (rows[0] as { prepared: number }).prepared };
    } finally {
      connection.release(false);
    }
  } finally {
    await source.close();
  }
};

describe.skipIf(testServerUrl === undefined)(
  `connections to a PostgreSQL server${testServerUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('prepare statements with parameters and pipeline them, on a server or a session pooler', async () => {
      expect(await preparedOnConnection(false)).toEqual({ pipelines: true, prepared: 1 });
    });

    it("borrow the application's pool: use it, pipeline only as it was made to, and leave it open", async () => {
      for (const pipeline of [false, true]) {
        const pool = new Pool({ connectionString: testServerUrl!, max: 1, pipeline });
        try {
          const source = postgresqlConnections({
            server: { pool },
            poolSize: 1,
            connectTimeoutMs: 5000,
            transactionPooler: false,
            onIdleConnectionError: () => {},
          });
          const connection = await source.acquire();
          expect(connection.pipelines).toBe(pipeline);
          expect((await connection.query('SELECT $1::integer AS one', [1])).rows).toEqual([{ one: 1 }]);
          connection.release(false);
          await source.close();
          expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
        } finally {
          await pool.end();
        }
      }
    });

    it('neither prepare nor pipeline through a transaction pooler, whose next statement may run elsewhere', async () => {
      expect(await preparedOnConnection(true)).toEqual({ pipelines: false, prepared: 0 });
    });
  },
);
