import { type StorageError, storageError } from '@prestabot/application';
import { err, errAsync, type Result, ResultAsync } from '@prestabot/domain';
import { storageErrorOf } from './storage-error-of.ts';

export type SqlRow = Readonly<Record<string, unknown>>;

/** What one statement returned. `command` is the server's tag: `COMMIT` answers `ROLLBACK` when it could not commit. */
export type SqlResult = { readonly rows: readonly SqlRow[]; readonly command: string };

/** One database connection, lent to one transaction (or one statement) at a time. */
export interface SqlConnection {
  /** One statement with parameters. */
  query(text: string, params: readonly unknown[]): Promise<SqlResult>;
  /** Several statements, no parameters (the simple protocol): a migration file, BEGIN with its settings. */
  script(text: string): Promise<void>;
  /** Gives the connection back; a broken one is discarded. */
  release(broken: boolean): void;
}

/** Where connections come from: a pg pool, or the one connection of an embedded PGlite. */
export interface SqlConnectionSource {
  readonly name: 'postgresql' | 'pglite';
  acquire(): Promise<SqlConnection>;
  close(): Promise<void>;
}

/** The statements of one transaction, run one after another whatever order they are issued in. */
export interface SqlSession {
  query(text: string, params?: readonly unknown[]): ResultAsync<readonly SqlRow[], StorageError>;
  script(text: string): ResultAsync<void, StorageError>;
}

/** Transaction-local settings (`set_config(name, value, true)`), applied in the round trip that begins it. */
export type TransactionSettings = Readonly<Record<string, string>>;

/**
 * PostgreSQL stores no NUL character in text or jsonb, and one inside a message would make its webhook
 * fail on every retry. It becomes U+FFFD (the replacement character) wherever it appears, escaped in
 * JSON or raw in a string.
 */
const withoutNul = (param: unknown): unknown =>
  typeof param === 'string' ? param.replaceAll('\0', '\ufffd').replaceAll('\\u0000', '\\ufffd') : param;

/**
 * Whatever stops us getting a connection (refused, too many, a database not accepting connections right
 * now) means the same to callers: the database is unavailable, try later.
 */
const connectionErrorOf = (error: unknown): StorageError => {
  const mapped = storageErrorOf(error);
  return mapped.reason === 'unexpected'
    ? storageError('unavailable', `cannot get a database connection: ${mapped.message}`)
    : mapped;
};

/** A string as an SQL literal, correct whatever `standard_conforming_strings` says. */
const sqlLiteral = (value: string): string => {
  const quoted = `'${value.replaceAll("'", "''").replaceAll('\\', '\\\\')}'`;
  return value.includes('\\') ? `E${quoted}` : quoted;
};

/**
 * BEGIN and the settings in one round trip. Parameters cannot travel with the simple protocol that
 * allows two statements, so the values are written as literals: the callers pass a role name and a
 * parsed UUID, and `sqlLiteral` quotes any string safely besides.
 */
const beginStatement = (settings: TransactionSettings): string => {
  const assignments = Object.entries(settings).map(
    ([name, value]) => `set_config(${sqlLiteral(name)}, ${sqlLiteral(value)}, true)`,
  );
  return assignments.length === 0 ? 'BEGIN' : `BEGIN; SELECT ${assignments.join(', ')}`;
};

class QueuedSession implements SqlSession {
  readonly #connection: SqlConnection;
  #tail: Promise<unknown> = Promise.resolve();
  #ended = false;
  #firstError: StorageError | undefined;
  #broken = false;

  constructor(connection: SqlConnection) {
    this.#connection = connection;
  }

  /** True once the connection failed underneath a statement; it must not go back to the pool. */
  get broken(): boolean {
    return this.#broken;
  }

  /** The first statement that failed: a transaction that saw one cannot commit. */
  get firstError(): StorageError | undefined {
    return this.#firstError;
  }

  query(text: string, params: readonly unknown[] = []): ResultAsync<readonly SqlRow[], StorageError> {
    return this.#enqueue((connection) => connection.query(text, params.map(withoutNul))).map(
      (result) => result.rows,
    );
  }

  script(text: string): ResultAsync<void, StorageError> {
    return this.#enqueue((connection) => connection.script(text));
  }

  /** The last statement (COMMIT, ROLLBACK): it waits for the queued ones; nothing may follow it. */
  end(command: 'COMMIT' | 'ROLLBACK'): ResultAsync<SqlResult, StorageError> {
    const last = this.#enqueue((connection) => connection.query(command, []));
    this.#ended = true;
    // A connection whose transaction could not be closed is in an unknown state.
    return last.orTee(() => {
      this.#broken = true;
    });
  }

  // One statement at a time on a connection, even when work issues several at once (ResultAsync.combine):
  // pg deprecates concurrent queries on one client, and a PGlite transaction is one connection too.
  #enqueue<T>(statement: (connection: SqlConnection) => Promise<T>): ResultAsync<T, StorageError> {
    if (this.#ended)
      return errAsync(storageError('unexpected', 'a statement was issued after its transaction had ended'));
    const run = ResultAsync.fromThrowable(statement, storageErrorOf);
    const result = this.#tail.then(() =>
      run(this.#connection).mapErr((error) => {
        this.#firstError ??= error;
        if (error.reason === 'unavailable') this.#broken = true;
        return error;
      }),
    );
    this.#tail = result;
    return new ResultAsync(result);
  }
}

/**
 * Runs statements and transactions over a connection source. A transaction commits when its work
 * returns Ok, rolls back when it returns Err, and rolls back then rethrows when the work throws (a bug).
 */
export class SqlDriver {
  readonly #source: SqlConnectionSource;

  constructor(source: SqlConnectionSource) {
    this.#source = source;
  }

  get name(): SqlConnectionSource['name'] {
    return this.#source.name;
  }

  transaction<T, E>(
    work: (session: SqlSession) => ResultAsync<T, E>,
    settings: TransactionSettings = {},
  ): ResultAsync<T, E | StorageError> {
    return new ResultAsync(this.#withSession((session) => this.#runTransaction(session, work, settings)));
  }

  /** One statement on its own, committed by itself. */
  query(text: string, params: readonly unknown[] = []): ResultAsync<readonly SqlRow[], StorageError> {
    return new ResultAsync(this.#withSession((session) => session.query(text, params)));
  }

  close(): Promise<void> {
    return this.#source.close();
  }

  async #withSession<T, E>(
    use: (session: QueuedSession) => PromiseLike<Result<T, E | StorageError>>,
  ): Promise<Result<T, E | StorageError>> {
    const acquired = await ResultAsync.fromThrowable(() => this.#source.acquire(), connectionErrorOf)();
    if (acquired.isErr()) return err(acquired.error);
    const session = new QueuedSession(acquired.value);
    try {
      return await use(session);
    } finally {
      acquired.value.release(session.broken);
    }
  }

  async #runTransaction<T, E>(
    session: QueuedSession,
    work: (session: SqlSession) => ResultAsync<T, E>,
    settings: TransactionSettings,
  ): Promise<Result<T, E | StorageError>> {
    const begun = await session.script(beginStatement(settings));
    if (begun.isErr()) {
      await session.end('ROLLBACK');
      return err(begun.error);
    }
    let outcome: Result<T, E>;
    try {
      outcome = await work(session);
    } catch (bug) {
      await session.end('ROLLBACK');
      throw bug;
    }
    if (outcome.isErr()) {
      await session.end('ROLLBACK');
      return outcome;
    }
    const committed = await session.end('COMMIT');
    if (committed.isErr()) return err(committed.error);
    // The work carried on past a failed statement; the server rolled everything back instead.
    if (committed.value.command === 'ROLLBACK')
      return err(
        session.firstError ??
          storageError('unexpected', 'the transaction was rolled back instead of committed'),
      );
    return outcome;
  }
}
