import { err, ok, type Result, type ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';

/** Readings per measurement. */
const readingsPerSync = 3;

/**
 * The database's clock, read through this process's: each `sync` measures how far the database's time
 * is from the local clock (halfway through the round trip), and `now` is the local time moved by that.
 * Every process of a deployment then places leases, slots and retries on one clock, whatever the skew
 * of the machines: a worker whose clock ran 40 s ahead would otherwise take others' sends as expired and
 * send them again. A sync costs one statement, not one per message.
 */
export class DatabaseClock implements Clock {
  readonly #local: Clock;
  readonly #readDatabaseTime: () => ResultAsync<Date, StorageError>;
  readonly #resyncEveryMs: number;
  #offsetMs = 0;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  #syncing: Promise<unknown> | undefined;

  /**
   * `resyncEveryMs`: `now` starts a new measurement in the background once the last is this old (a
   * machine's clock drifts, or is stepped), without a timer of its own. Absent: only `sync` measures.
   */
  constructor(
    local: Clock,
    readDatabaseTime: () => ResultAsync<Date, StorageError>,
    options: { readonly resyncEveryMs?: number } = {},
  ) {
    this.#local = local;
    this.#readDatabaseTime = readDatabaseTime;
    this.#resyncEveryMs = options.resyncEveryMs ?? Number.POSITIVE_INFINITY;
  }

  now(): Date {
    const local = this.#local.now().getTime();
    if (this.#syncing === undefined && local - this.#lastSyncAt >= this.#resyncEveryMs)
      this.#syncing = this.sync().finally(() => {
        this.#syncing = undefined;
      });
    return new Date(local + this.#offsetMs);
  }

  /**
   * Measures the offset again, from a few readings: the one with the shortest round trip is the most
   * exact (the first may include opening a connection). How far the database's clock is from the local
   * one; a failure keeps the last offset.
   */
  async sync(): Promise<Result<number, StorageError>> {
    this.#lastSyncAt = this.#local.now().getTime();
    let best: { readonly roundTripMs: number; readonly offsetMs: number } | undefined;
    for (let reading = 0; reading < readingsPerSync; reading += 1) {
      const sentAt = this.#local.now().getTime();
      const read = await this.#readDatabaseTime();
      const answeredAt = this.#local.now().getTime();
      if (read.isErr()) return err(read.error);
      const roundTripMs = answeredAt - sentAt;
      if (best === undefined || roundTripMs < best.roundTripMs)
        best = { roundTripMs, offsetMs: read.value.getTime() - (sentAt + answeredAt) / 2 };
    }
    this.#offsetMs = best!.offsetMs;
    return ok(this.#offsetMs);
  }
}
