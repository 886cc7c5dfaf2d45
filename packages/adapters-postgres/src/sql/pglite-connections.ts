import { PGlite } from '@electric-sql/pglite';
import type { SqlConnection, SqlConnectionSource } from './sql-driver.ts';

/**
 * The single connection of an embedded PGlite, lent to one transaction at a time: PGlite has one session,
 * so two interleaved transactions would share it. Waiting callers queue in order.
 */
export const pgliteConnections = async (dataDir: string | undefined): Promise<SqlConnectionSource> => {
  const database = await PGlite.create(dataDir);
  let queue: Promise<void> = Promise.resolve();
  const connection = (release: () => void): SqlConnection => ({
    // In process: a round trip costs nothing worth saving.
    pipelines: false,
    query: async (text, params) => {
      const result = await database.query<Record<string, unknown>>(text, [...params]);
      return { rows: result.rows, command: result.command ?? '' };
    },
    script: async (text) => {
      await database.exec(text);
    },
    release,
  });
  return {
    name: 'pglite',
    acquire: () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const turn = queue.then(() => connection(release));
      queue = queue.then(() => released);
      return turn;
    },
    close: async () => {
      await queue;
      await database.close();
    },
  };
};
