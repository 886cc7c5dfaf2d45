import { okAsync, type PhoneNumberId, ResultAsync, type WabaId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { NumberRoute, RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';

type Cached<T> = { readonly value: T; readonly expiresAt: number };

/** Most numbers one lookup refreshes: the statement stays small whatever the number of numbers served. */
export const maxRoutesPerLookup = 500;

/**
 * Keeps number routes and app secrets for a few seconds, so a webhook costs no database round trip for
 * routing whatever the number of numbers, while a number added or moved with the CLI is seen within
 * `ttlMs` by every process. Unknown numbers are remembered too, so a flood for a number we do not serve
 * does not reach the database. When an entry expires, one lookup refreshes it and every caller that
 * misses meanwhile shares its answer: the app secrets, which every webhook reads, would otherwise send
 * every webhook in flight to the database at once, every `ttlMs`, each holding a pooled connection.
 * A number's lookup takes along every other route read since its own lookup and past half its life, so
 * the routes in use are refreshed together, in one statement per `ttlMs` or so instead of one per number;
 * none is ever kept longer than `ttlMs`.
 */
export class CachingTenantDirectory implements TenantDirectory {
  readonly #inner: TenantDirectory;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #routes = new Map<PhoneNumberId, Cached<NumberRoute | undefined>>();
  /** The numbers whose routes were read since their lookup: only routes in use are refreshed early. */
  readonly #readSinceLookup = new Set<PhoneNumberId>();
  #apps: Cached<readonly RegisteredApp[]> | undefined;
  /**
   * Lookups under way, by key (`apps` for the app secrets, `number …` for each number a route lookup
   * refreshes), shared by the callers that miss meanwhile.
   */
  readonly #lookups = new Map<string, ResultAsync<unknown, StorageError>>();
  /** Bumped by `invalidate`: a lookup begun before it does not fill the cache after it. */
  #generation = 0;

  constructor(
    inner: TenantDirectory,
    clock: Clock,
    options: { readonly ttlMs: number; readonly maxEntries?: number },
  ) {
    this.#inner = inner;
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 200_000;
  }

  findNumber(phoneNumberId: PhoneNumberId): ResultAsync<NumberRoute | undefined, StorageError> {
    const now = this.#clock.now().getTime();
    const cached = this.#routes.get(phoneNumberId);
    if (cached !== undefined && cached.expiresAt > now) {
      this.#readSinceLookup.add(phoneNumberId);
      return okAsync(cached.value);
    }
    const pending = this.#lookups.get(`number ${phoneNumberId}`) as
      | ResultAsync<ReadonlyMap<PhoneNumberId, NumberRoute>, StorageError>
      | undefined;
    if (pending !== undefined) return pending.map((routes) => routes.get(phoneNumberId));
    const due = [phoneNumberId, ...this.#routesDueBy(now, phoneNumberId)];
    return this.#sharedLookup(
      due.map((number) => `number ${number}`),
      () =>
        this.#inner
          .findNumbers(due)
          .map((found) => new Map(found.map((route) => [route.number.phoneNumberId, route]))),
      (routes) => {
        if (this.#routes.size + due.length > this.#maxEntries) {
          this.#routes.clear();
          this.#readSinceLookup.clear();
        }
        for (const number of due) {
          this.#routes.set(number, { value: routes.get(number), expiresAt: now + this.#ttlMs });
          this.#readSinceLookup.delete(number);
        }
      },
    ).map((routes) => routes.get(phoneNumberId));
  }

  findNumbers(phoneNumberIds: readonly PhoneNumberId[]): ResultAsync<readonly NumberRoute[], StorageError> {
    return ResultAsync.combine(phoneNumberIds.map((number) => this.findNumber(number))).map((routes) =>
      routes.flatMap((route) => route ?? []),
    );
  }

  /** Not cached: account webhooks are rare, and must see a number's current state. */
  findWabaNumbers(wabaId: WabaId): ResultAsync<readonly NumberRoute[], StorageError> {
    return this.#inner.findWabaNumbers(wabaId);
  }

  listApps(): ResultAsync<readonly RegisteredApp[], StorageError> {
    const now = this.#clock.now().getTime();
    const cached = this.#apps;
    if (cached !== undefined && cached.expiresAt > now) return okAsync(cached.value);
    const pending = this.#lookups.get('apps') as
      | ResultAsync<readonly RegisteredApp[], StorageError>
      | undefined;
    if (pending !== undefined) return pending;
    return this.#sharedLookup(
      ['apps'],
      () => this.#inner.listApps(),
      (apps) => {
        this.#apps = { value: apps, expiresAt: now + this.#ttlMs };
      },
    );
  }

  listTenants() {
    return this.#inner.listTenants();
  }

  /** Forgets everything, e.g. after this process changed a number. */
  invalidate(): void {
    this.#generation += 1;
    this.#routes.clear();
    this.#readSinceLookup.clear();
    this.#apps = undefined;
    this.#lookups.clear();
  }

  /** The routes other than `except` that were read since their lookup and are past half their life. */
  #routesDueBy(now: number, except: PhoneNumberId): PhoneNumberId[] {
    const due: PhoneNumberId[] = [];
    for (const number of this.#readSinceLookup) {
      if (due.length + 1 >= maxRoutesPerLookup) break;
      const expiresAt = this.#routes.get(number)?.expiresAt ?? now;
      if (number !== except && expiresAt - now <= this.#ttlMs / 2 && !this.#lookups.has(`number ${number}`))
        due.push(number);
    }
    return due;
  }

  /**
   * A new lookup, shared under each of `keys` while it runs, that caches its answer (`keep`) unless
   * invalidated meanwhile. The caller checked that none of `keys` has a lookup under way.
   */
  #sharedLookup<T>(
    keys: readonly string[],
    lookup: () => ResultAsync<T, StorageError>,
    keep: (value: T) => void,
  ): ResultAsync<T, StorageError> {
    const generation = this.#generation;
    const started = lookup().map((value) => {
      if (generation === this.#generation) keep(value);
      return value;
    });
    const shared = new ResultAsync(
      Promise.resolve(started).finally(() => {
        for (const key of keys) if (this.#lookups.get(key) === shared) this.#lookups.delete(key);
      }),
    );
    for (const key of keys) this.#lookups.set(key, shared);
    return shared;
  }
}
