import { type StorageError, storageError } from '@prestabot/application';
import { err, ok, type Result, ResultAsync } from '@prestabot/domain';
import { systemTimers, type Timers } from './wake-up.ts';

export type GroupCommitOptions = {
  /** Most requests written together. */
  readonly maxBatch: number;
  /** Most batches being written at once; requests arriving meanwhile wait for the next batch. */
  readonly maxInFlight: number;
  /**
   * How long a request that finds room for another batch waits for others to join it; absent, until the
   * next timer tick. Requests that had to wait for `maxInFlight` batches being written go as soon as one is
   * done.
   */
  readonly lingerMs?: number;
};

/** Writes many requests in one call: one result per request, in order. */
export type BatchWrite<Request, Response> = (
  requests: readonly Request[],
) => ResultAsync<readonly Response[], StorageError>;

type Waiting<Request, Response> = {
  readonly request: Request;
  readonly settle: (result: Result<Response, StorageError>) => void;
};

/**
 * Group commit: requests that arrive together are written together. A request arriving while no batch is
 * being written goes at once (in the same turn of the event loop as any others that arrive with it); while
 * `maxInFlight` batches are being written, requests wait and go together as the next. So under load one
 * write serves many requests, and when idle none waits for a timer.
 *
 * A batch that fails for a reason other than the database being unavailable is written again one request
 * at a time, so a request the database refuses fails alone and the others go through.
 */
export class GroupCommit<Request, Response> {
  readonly #write: BatchWrite<Request, Response>;
  readonly #options: GroupCommitOptions;
  #waiting: Waiting<Request, Response>[] = [];
  #inFlight = 0;
  #scheduled = false;

  readonly #timers: Timers;

  constructor(
    write: BatchWrite<Request, Response>,
    options: GroupCommitOptions,
    timers: Timers = systemTimers,
  ) {
    this.#write = write;
    this.#options = options;
    this.#timers = timers;
  }

  submit(request: Request): ResultAsync<Response, StorageError> {
    return new ResultAsync(
      new Promise<Result<Response, StorageError>>((settle) => {
        this.#waiting.push({ request, settle });
        this.#schedule(this.#options.lingerMs ?? 0);
      }),
    );
  }

  /** Requests submitted meanwhile join one batch: the write starts after `delayMs`, or on the next tick. */
  #schedule(delayMs: number): void {
    if (this.#scheduled || this.#inFlight >= this.#options.maxInFlight || this.#waiting.length === 0) return;
    this.#scheduled = true;
    this.#timers.setTimeout(() => {
      this.#scheduled = false;
      this.#flush();
    }, delayMs);
  }

  #flush(): void {
    while (this.#inFlight < this.#options.maxInFlight && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#options.maxBatch);
      this.#inFlight += 1;
      void this.#writeBatch(batch).finally(() => {
        this.#inFlight -= 1;
        this.#schedule(0);
      });
    }
  }

  async #writeBatch(batch: readonly Waiting<Request, Response>[]): Promise<void> {
    const written = await this.#write(batch.map((waiting) => waiting.request)).then(
      (result) => result,
      (bug: unknown) => {
        // A write that throws is a bug: every request of the batch learns of it, none hangs.
        for (const waiting of batch) waiting.settle(err(bugError(bug)));
        return undefined;
      },
    );
    if (written === undefined) return;
    if (written.isOk()) {
      batch.forEach((waiting, index) => {
        const response = written.value[index];
        waiting.settle(
          response === undefined
            ? err(storageError('unexpected', 'a batch write answered fewer requests than it was given'))
            : ok(response),
        );
      });
      return;
    }
    if (batch.length === 1 || written.error.reason === 'unavailable') {
      for (const waiting of batch) waiting.settle(err(written.error));
      return;
    }
    for (const waiting of batch) await this.#writeBatch([waiting]);
  }
}

const bugError = (bug: unknown): StorageError =>
  storageError('unexpected', bug instanceof Error ? bug.message : String(bug));
