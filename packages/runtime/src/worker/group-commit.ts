import { type StorageError, storageError } from '@prestabot/application';
import { err, ok, type Result, ResultAsync } from '@prestabot/domain';
import { systemTimers, type Timers } from './wake-up.ts';

export type GroupCommitOptions<Request = never> = {
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
  /**
   * What a request writes that two writes under way at once would contend for (a row both update, a key
   * both insert): a request whose keys a write under way holds waits for the next batch after that write,
   * instead of waiting inside the database for its commit, holding a connection and every request of its
   * own batch. Requests with the same key may share a batch.
   */
  readonly keysOf?: (request: Request) => readonly string[];
};

/**
 * `linger`: the request waits up to `lingerMs` for company. `now`: it goes on the next tick if a batch may
 * start, and takes every request lingering at that moment with it.
 */
export type Urgency = 'linger' | 'now';

/** Writes many requests in one call: one result per request, in order. */
export type BatchWrite<Request, Response> = (
  requests: readonly Request[],
) => ResultAsync<readonly Response[], StorageError>;

type Waiting<Request, Response> = {
  readonly request: Request;
  /** Its `keysOf`, worked out once. */
  readonly keys: readonly string[];
  readonly settle: (result: Result<Response, StorageError>) => void;
};

/**
 * Requests taken from a group commit to be written by another write (`GroupCommit.take`): that write
 * settles them with their responses once it committed, or gives them back to be written as they would
 * have been.
 */
export type TakenRequests<Request, Response> = {
  readonly requests: readonly Request[];
  /** One response per request, in order. */
  readonly settle: (responses: readonly Response[]) => void;
  readonly giveBack: () => void;
};

/**
 * Group commit: requests that arrive together are written together. A request arriving while fewer than
 * `maxInFlight` batches are being written goes after its linger (at once without one, in the same turn of
 * the event loop as any others that arrive with it), or sooner with a request that goes now; while
 * `maxInFlight` batches are being written, requests wait and go together as the next. So under load one
 * write serves many requests, and a request that cannot wait takes the lingering ones along.
 *
 * A batch that fails for a reason other than the database being unavailable is written again one request
 * at a time, so a request the database refuses fails alone and the others go through.
 */
export class GroupCommit<Request, Response> {
  readonly #write: BatchWrite<Request, Response>;
  readonly #options: GroupCommitOptions<Request>;
  #waiting: Waiting<Request, Response>[] = [];
  #inFlight = 0;
  /** The keys of the requests being written, and how many writes hold each. */
  readonly #held = new Map<string, number>();
  /** The timer that starts the next batch, and after how long it was set to fire. */
  #next: { readonly timer: unknown; readonly delayMs: number } | undefined;

  readonly #timers: Timers;

  constructor(
    write: BatchWrite<Request, Response>,
    options: GroupCommitOptions<Request>,
    timers: Timers = systemTimers,
  ) {
    this.#write = write;
    this.#options = options;
    this.#timers = timers;
  }

  submit(request: Request, urgency: Urgency = 'linger'): ResultAsync<Response, StorageError> {
    return new ResultAsync(
      new Promise<Result<Response, StorageError>>((settle) => {
        this.#waiting.push({ request, keys: this.#options.keysOf?.(request) ?? [], settle });
        this.#schedule(urgency === 'now' ? 0 : (this.#options.lingerMs ?? 0));
      }),
    );
  }

  /**
   * Up to `max` requests waiting for a batch, taken out to be written by another write in its own commit;
   * none waiting: undefined. Requests given back go first, at once: they have waited already.
   */
  take(max: number): TakenRequests<Request, Response> | undefined {
    const taken = this.#startWriting(max);
    if (taken.length === 0) return undefined;
    // The timer set for them would cut short the linger of requests that come next.
    if (this.#waiting.length === 0 && this.#next !== undefined) {
      this.#timers.clearTimeout(this.#next.timer);
      this.#next = undefined;
    }
    let settled = false;
    const once = (then: () => void) => {
      if (settled) throw new Error('taken requests settled twice');
      settled = true;
      then();
    };
    return {
      requests: taken.map((waiting) => waiting.request),
      settle: (responses) =>
        once(() => {
          this.#doneWriting(taken);
          for (const [index, waiting] of taken.entries()) waiting.settle(responseAt(responses, index));
        }),
      giveBack: () =>
        once(() => {
          this.#hold(taken, -1);
          this.#waiting.unshift(...taken);
          this.#schedule(0);
        }),
    };
  }

  /**
   * Requests submitted meanwhile join one batch: the write starts after `delayMs`, or on the next tick,
   * unless a timer set earlier fires sooner. Delays are 0 or `lingerMs`, so a shorter delay also means an
   * earlier start, and replacing the timer is enough.
   */
  #schedule(delayMs: number): void {
    if (this.#inFlight >= this.#options.maxInFlight || this.#waiting.length === 0) return;
    if (this.#next !== undefined) {
      if (this.#next.delayMs <= delayMs) return;
      this.#timers.clearTimeout(this.#next.timer);
    }
    const timer = this.#timers.setTimeout(() => {
      this.#next = undefined;
      this.#flush();
    }, delayMs);
    this.#next = { timer, delayMs };
  }

  #flush(): void {
    while (this.#inFlight < this.#options.maxInFlight && this.#waiting.length > 0) {
      const batch = this.#startWriting(this.#options.maxBatch);
      // What still waits holds keys of writes under way: it goes when one of them is done.
      if (batch.length === 0) return;
      this.#inFlight += 1;
      void this.#writeBatch(batch).finally(() => {
        this.#inFlight -= 1;
        this.#doneWriting(batch);
      });
    }
  }

  /** Up to `max` waiting requests, oldest first, none with a key a write under way holds; their keys held. */
  #startWriting(max: number): Waiting<Request, Response>[] {
    if (this.#options.keysOf === undefined) return this.#waiting.splice(0, max);
    const chosen: Waiting<Request, Response>[] = [];
    const left: Waiting<Request, Response>[] = [];
    for (const waiting of this.#waiting) {
      const free = chosen.length < max && waiting.keys.every((key) => !this.#held.has(key));
      (free ? chosen : left).push(waiting);
    }
    this.#waiting = left;
    this.#hold(chosen, 1);
    return chosen;
  }

  #doneWriting(batch: readonly Waiting<Request, Response>[]): void {
    this.#hold(batch, -1);
    // With no timer set, what waits found no room, or only keys being written, when it arrived or when its
    // timer fired: it goes now. A timer is only ever set while there is room, so what it waits for is within
    // its linger.
    if (this.#next === undefined) this.#schedule(0);
  }

  #hold(batch: readonly Waiting<Request, Response>[], by: 1 | -1): void {
    for (const key of new Set(batch.flatMap((waiting) => waiting.keys))) {
      const holders = (this.#held.get(key) ?? 0) + by;
      if (holders > 0) this.#held.set(key, holders);
      else this.#held.delete(key);
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
      for (const [index, waiting] of batch.entries()) waiting.settle(responseAt(written.value, index));
      return;
    }
    if (batch.length === 1 || written.error.reason === 'unavailable') {
      for (const waiting of batch) waiting.settle(err(written.error));
      return;
    }
    for (const waiting of batch) await this.#writeBatch([waiting]);
  }
}

const responseAt = <Response>(
  responses: readonly Response[],
  index: number,
): Result<Response, StorageError> => {
  const response = responses[index];
  return response === undefined
    ? err(storageError('unexpected', 'a batch write answered fewer requests than it was given'))
    : ok(response);
};

const bugError = (bug: unknown): StorageError =>
  storageError('unexpected', bug instanceof Error ? bug.message : String(bug));
