import { type StorageError, storageError } from '@prestabot/application';
import { err, errAsync, type Result, ResultAsync, withoutLoneSurrogates } from '@prestabot/domain';
import { storageErrorOf } from './storage-error-of.ts';

export type SqlRow = Readonly<Record<string, unknown>>;

/** What one statement returned. `command` is the server's tag: `COMMIT` answers `ROLLBACK` when it could not commit. */
export type SqlResult = { readonly rows: readonly SqlRow[]; readonly command: string };

/** One database connection, lent to one transaction (or one statement) at a time. */
export interface SqlConnection {
  /**
   * True when statements may be written before the previous one answered (pg's pipeline mode): they run
   * in the order issued, and a transaction's BEGIN, settings and first statement share one round trip.
   */
  readonly pipelines: boolean;
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
  /**
   * What `work` issues, under `settings`, behind a savepoint: should it return Err, throw or see a
   * statement fail, its statements and settings are undone on their own and the transaction goes on
   * (a throw is rethrown once they are). Sections run one at a time: nothing else may be issued meanwhile.
   */
  section<T, E>(
    settings: TransactionSettings,
    work: (session: SqlSession) => ResultAsync<T, E>,
  ): ResultAsync<T, E | StorageError>;
}

/**
 * What the driver tells about its traffic: each statement, each round trip (statements written while
 * none was outstanding, and those pipelined behind it before their answers came back, count once), each
 * transaction ended.
 */
export type SqlTraffic = {
  readonly statement: () => void;
  readonly roundTrip: () => void;
  readonly transaction: (outcome: 'commit' | 'rollback') => void;
};

const unobserved: SqlTraffic = { statement: () => {}, roundTrip: () => {}, transaction: () => {} };

/** Transaction-local settings (`set_config(name, value, true)`), applied in the round trip that begins it. */
export type TransactionSettings = Readonly<Record<string, string>>;

/**
 * A JSON escape PostgreSQL refuses: NUL, or a surrogate without its partner (JSON.stringify writes a lone
 * surrogate as `\ud800`, and jsonb refuses it). Only a real escape: the backslash before `u` follows an
 * even run of backslashes, so the six characters `\ud800` typed in a message (JSON escapes their
 * backslash) are left alone.
 */
const unstorableJsonEscape =
  /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2}\\u)d[c-f][0-9a-f]{2})/gi;

/**
 * PostgreSQL stores no NUL character and no lone surrogate in text or jsonb, and one inside a message
 * would make its webhook fail on every retry. Each becomes U+FFFD (the replacement character) wherever it
 * appears, escaped in JSON or raw in a string.
 */
const storable = (param: unknown): unknown => {
  if (typeof param !== 'string') return param;
  const raw = withoutLoneSurrogates(param.replaceAll('\0', '\ufffd'));
  return raw.includes('\\u') ? raw.replace(unstorableJsonEscape, '\\ufffd') : raw;
};

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

/**
 * The settings as one statement with parameters, run right after BEGIN. Inside the transaction BEGIN
 * opened: should it fail, the transaction is aborted and nothing issued after it runs.
 */
const settingsStatement = (
  settings: TransactionSettings,
): { readonly text: string; readonly params: readonly string[] } | undefined => {
  const entries = Object.entries(settings);
  if (entries.length === 0) return undefined;
  const assignments = entries.map((_, index) => `set_config($${2 * index + 1}, $${2 * index + 2}, true)`);
  return { text: `SELECT ${assignments.join(', ')}`, params: entries.flat() };
};

class QueuedSession implements SqlSession {
  readonly #connection: SqlConnection;
  readonly #traffic: SqlTraffic;
  #tail: Promise<unknown> = Promise.resolve();
  #ended = false;
  #firstError: StorageError | undefined;
  #broken = false;
  #outstanding = 0;

  constructor(connection: SqlConnection, traffic: SqlTraffic) {
    this.#connection = connection;
    this.#traffic = traffic;
  }

  /** True once the connection failed underneath a statement; it must not go back to the pool. */
  get broken(): boolean {
    return this.#broken;
  }

  get pipelines(): boolean {
    return this.#connection.pipelines;
  }

  /** BEGIN, then the settings inside the transaction it opened. */
  begin(settings: TransactionSettings): ResultAsync<void, StorageError> {
    const begun = this.query('BEGIN');
    const assigned = settingsStatement(settings);
    return assigned === undefined
      ? begun.map(() => undefined)
      : ResultAsync.combine([begun, this.query(assigned.text, assigned.params)]).map(() => undefined);
  }

  /** The first statement that failed: a transaction that saw one cannot commit. */
  get firstError(): StorageError | undefined {
    return this.#firstError;
  }

  query(text: string, params: readonly unknown[] = []): ResultAsync<readonly SqlRow[], StorageError> {
    return this.#enqueue((connection) => connection.query(text, params.map(storable))).map(
      (result) => result.rows,
    );
  }

  script(text: string): ResultAsync<void, StorageError> {
    return this.#enqueue((connection) => connection.script(text));
  }

  section<T, E>(
    settings: TransactionSettings,
    work: (session: SqlSession) => ResultAsync<T, E>,
  ): ResultAsync<T, E | StorageError> {
    return new ResultAsync(this.#runSection(settings, work));
  }

  async #runSection<T, E>(
    settings: TransactionSettings,
    work: (session: SqlSession) => ResultAsync<T, E>,
  ): Promise<Result<T, E | StorageError>> {
    const errorBefore = this.#firstError;
    const opened = this.query('SAVEPOINT section');
    const assigned = settingsStatement(settings);
    const applied = assigned === undefined ? opened : this.query(assigned.text, assigned.params);
    const undo = async () => {
      // Released too, so that sections undone one after another do not nest.
      const undone = await ResultAsync.combine([
        this.query('ROLLBACK TO SAVEPOINT section'),
        this.query('RELEASE SAVEPOINT section'),
      ]);
      // Undone: what failed inside no longer stops the transaction committing.
      if (undone.isOk()) this.#firstError = errorBefore;
      return undone;
    };
    let outcome: Result<T, E | StorageError>;
    try {
      outcome = await work(this);
    } catch (bug) {
      await undo();
      throw bug;
    }
    const ready = await ResultAsync.combine([opened, applied]);
    if (ready.isErr()) outcome = err(ready.error);
    else if (outcome.isOk() && this.#firstError !== errorBefore) outcome = err(this.#firstError!);
    // Not waited for: should it fail, nothing after it runs and the transaction cannot commit; meanwhile
    // it goes out with whatever is issued next (the next section, COMMIT), saving a round trip.
    if (outcome.isOk()) {
      void this.query('RELEASE SAVEPOINT section');
      return outcome;
    }
    const undone = await undo();
    return undone.isErr() ? err(undone.error) : outcome;
  }

  /** The last statement (COMMIT, ROLLBACK): it waits for the queued ones; nothing may follow it. */
  end(command: 'COMMIT' | 'ROLLBACK'): ResultAsync<SqlResult, StorageError> {
    this.#traffic.transaction(command === 'COMMIT' ? 'commit' : 'rollback');
    const last = this.#enqueue((connection) => connection.query(command, []));
    this.#ended = true;
    // A connection whose transaction could not be closed is in an unknown state.
    return last.orTee(() => {
      this.#broken = true;
    });
  }

  // Statements reach the connection in the order they are issued. One that pipelines takes each at once
  // (the server answers them in order); another gets one at a time, even when work issues several together
  // (ResultAsync.combine): a PGlite transaction is one connection.
  #enqueue<T>(statement: (connection: SqlConnection) => Promise<T>): ResultAsync<T, StorageError> {
    if (this.#ended)
      return errAsync(storageError('unexpected', 'a statement was issued after its transaction had ended'));
    const run = ResultAsync.fromThrowable((connection: SqlConnection) => {
      this.#traffic.statement();
      if (this.#outstanding === 0) this.#traffic.roundTrip();
      this.#outstanding += 1;
      return statement(connection).finally(() => {
        this.#outstanding -= 1;
      });
    }, storageErrorOf);
    const noted = (result: ResultAsync<T, StorageError>) =>
      result.mapErr((error) => {
        this.#firstError ??= error;
        if (error.reason === 'unavailable') this.#broken = true;
        return error;
      });
    const settled: Promise<Result<T, StorageError>> = this.#connection.pipelines
      ? Promise.resolve(noted(run(this.#connection)))
      : this.#tail.then(() => noted(run(this.#connection)));
    this.#tail = settled;
    return new ResultAsync(settled);
  }
}

/**
 * Runs statements and transactions over a connection source. A transaction commits when its work
 * returns Ok, rolls back when it returns Err, and rolls back then rethrows when the work throws (a bug).
 */
export class SqlDriver {
  readonly #source: SqlConnectionSource;
  readonly #traffic: SqlTraffic;

  constructor(source: SqlConnectionSource, traffic: SqlTraffic = unobserved) {
    this.#source = source;
    this.#traffic = traffic;
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

  /** Statements without parameters, sent in one round trip on a connection of their own. */
  script(text: string): ResultAsync<void, StorageError> {
    return new ResultAsync(this.#withSession((session) => session.script(text)));
  }

  close(): Promise<void> {
    return this.#source.close();
  }

  async #withSession<T, E>(
    use: (session: QueuedSession) => PromiseLike<Result<T, E | StorageError>>,
  ): Promise<Result<T, E | StorageError>> {
    const acquired = await ResultAsync.fromThrowable(() => this.#source.acquire(), connectionErrorOf)();
    if (acquired.isErr()) return err(acquired.error);
    const session = new QueuedSession(acquired.value, this.#traffic);
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
    const begun = session.begin(settings);
    // Without pipelining, nothing is issued before the settings are known to be in place.
    if (!session.pipelines) {
      const settled = await begun;
      if (settled.isErr()) {
        await session.end('ROLLBACK');
        return err(settled.error);
      }
    }
    let outcome: Result<T, E>;
    try {
      outcome = await work(session);
    } catch (bug) {
      await session.end('ROLLBACK');
      throw bug;
    }
    const settled = await begun;
    if (settled.isErr()) {
      await session.end('ROLLBACK');
      return err(settled.error);
    }
    if (outcome.isErr()) {
      await session.end('ROLLBACK');
      return outcome;
    }
    const commit = await session.end('COMMIT');
    if (commit.isErr()) return err(commit.error);
    // The work carried on past a failed statement; the server rolled everything back instead.
    if (commit.value.command === 'ROLLBACK')
      return err(
        session.firstError ??
          storageError('unexpected', 'the transaction was rolled back instead of committed'),
      );
    return outcome;
  }
}
