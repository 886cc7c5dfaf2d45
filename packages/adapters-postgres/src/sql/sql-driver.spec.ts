import { storageError } from '@prestabot/application';
import { errAsync, okAsync, ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { type SqlConnection, type SqlConnectionSource, SqlDriver } from './sql-driver.ts';

/** A connection that records every statement and fails the test if two ever run at once. */
const recordingSource = (
  options: { readonly failOn?: RegExp; readonly commitAnswers?: string; readonly pipelines?: boolean } = {},
) => {
  const statements: string[] = [];
  const releases: boolean[] = [];
  let running = 0;
  let overlapped = false;
  const run = async (text: string) => {
    running += 1;
    if (running > 1) overlapped = true;
    statements.push(text);
    await new Promise((resolve) => setTimeout(resolve, 1));
    running -= 1;
    if (options.failOn?.test(text)) throw Object.assign(new Error('refused'), { code: '23505' });
  };
  const connection: SqlConnection = {
    pipelines: options.pipelines ?? false,
    query: async (text) => {
      await run(text);
      return {
        rows: [{ text }],
        command: text === 'COMMIT' ? (options.commitAnswers ?? 'COMMIT') : 'SELECT',
      };
    },
    script: run,
    release: (broken) => releases.push(broken),
  };
  const source: SqlConnectionSource = {
    name: 'pglite',
    acquire: async () => connection,
    close: async () => {},
  };
  return { source, statements, releases, overlapped: () => overlapped };
};

describe(SqlDriver, () => {
  it('begins, sets the settings inside the transaction as parameters, runs the work, commits', async () => {
    const { source, statements, releases } = recordingSource();
    const result = await new SqlDriver(source).transaction((session) => session.query('SELECT 1'), {
      role: 'prestabot_app',
      'app.tenant_id': "it's",
    });
    expect(result.isOk()).toBe(true);
    expect(statements).toEqual([
      'BEGIN',
      'SELECT set_config($1, $2, true), set_config($3, $4, true)',
      'SELECT 1',
      'COMMIT',
    ]);
    expect(releases).toEqual([false]);
  });

  it('on a pipelining connection, writes BEGIN, the settings and the first statement without waiting', async () => {
    const { source, statements, overlapped } = recordingSource({ pipelines: true });
    const result = await new SqlDriver(source).transaction(
      (session) => session.query('SELECT 1').andThen(() => session.query('SELECT 2')),
      { role: 'prestabot_app' },
    );
    expect(result.isOk()).toBe(true);
    expect(overlapped()).toBe(true);
    expect(statements).toEqual([
      'BEGIN',
      'SELECT set_config($1, $2, true)',
      'SELECT 1',
      'SELECT 2',
      'COMMIT',
    ]);
  });

  it('never runs two statements of a transaction at once, even when the work issues them together', async () => {
    const { source, statements, overlapped } = recordingSource();
    await new SqlDriver(source).transaction((session) =>
      ResultAsync.combine([session.query('SELECT 1'), session.query('SELECT 2'), session.query('SELECT 3')]),
    );
    expect(overlapped()).toBe(false);
    expect(statements).toEqual(['BEGIN', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'COMMIT']);
  });

  it('rolls back when the work returns an error, and returns that error', async () => {
    const { source, statements } = recordingSource();
    const result = await new SqlDriver(source).transaction((session) =>
      session.query('INSERT 1').andThen(() => errAsync({ type: 'changed_my_mind' as const })),
    );
    expect(result._unsafeUnwrapErr()).toEqual({ type: 'changed_my_mind' });
    expect(statements).toEqual(['BEGIN', 'INSERT 1', 'ROLLBACK']);
  });

  it('rolls back and rethrows when the work throws, after what it had queued', async () => {
    const { source, statements, overlapped } = recordingSource();
    const driver = new SqlDriver(source);
    await expect(
      driver.transaction((session) => {
        void session.query('SELECT queued');
        throw new Error('bug');
      }),
    ).rejects.toThrow('bug');
    expect(statements).toEqual(['BEGIN', 'SELECT queued', 'ROLLBACK']);
    expect(overlapped()).toBe(false);
  });

  it('reports the failed statement when the work carried on and the server rolled back at COMMIT', async () => {
    const { source } = recordingSource({ failOn: /^INSERT/, commitAnswers: 'ROLLBACK' });
    const result = await new SqlDriver(source).transaction((session) =>
      session.query('INSERT 1').orElse(() => okAsync([])),
    );
    expect(result._unsafeUnwrapErr()).toMatchObject({ reason: 'duplicate' });
  });

  it('refuses statements issued after the transaction ended', async () => {
    const { source } = recordingSource();
    let leaked: (() => ResultAsync<unknown, unknown>) | undefined;
    await new SqlDriver(source).transaction((session) => {
      leaked = () => session.query('SELECT late');
      return okAsync(undefined);
    });
    expect((await leaked!())._unsafeUnwrapErr()).toMatchObject({ reason: 'unexpected' });
  });

  it('turns a failed acquire into a StorageError, never a throw', async () => {
    const source: SqlConnectionSource = {
      name: 'postgresql',
      acquire: () =>
        Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      close: async () => {},
    };
    const result = await new SqlDriver(source).transaction(() => okAsync(1));
    expect(result._unsafeUnwrapErr()).toEqual(
      storageError('unavailable', 'the database cannot be reached (ECONNREFUSED)'),
    );
  });

  it('discards a connection whose transaction could not be closed', async () => {
    const { source, releases } = recordingSource({ failOn: /^ROLLBACK/ });
    await new SqlDriver(source).transaction(() => errAsync('no'));
    expect(releases).toEqual([true]);
  });
});
