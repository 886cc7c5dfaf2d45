import { okAsync, type PhoneNumberId, ResultAsync, type WabaId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { NumberRoute, RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';

type Cached<T> = { readonly value: T; readonly expiresAt: number };

/**
 * Keeps number routes and app secrets for a few seconds, so a webhook costs no database round trip for
 * routing whatever the number of numbers, while a number added or moved with the CLI is seen within
 * `ttlMs` by every process. Unknown numbers are remembered too, so a flood for a number we do not serve
 * does not reach the database. When an entry expires, one lookup refreshes it and every caller that
 * misses meanwhile shares its answer: the app secrets, which every webhook reads, would otherwise send
 * every webhook in flight to the database at once, every `ttlMs`, each holding a pooled connection.
 */
export class CachingTenantDirectory implements TenantDirectory {
  readonly #inner: TenantDirectory;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #routes = new Map<PhoneNumberId, Cached<NumberRoute | undefined>>();
  #apps: Cached<readonly RegisteredApp[]> | undefined;
  /** Lookups under way, by key (`apps` for the app secrets), shared by the callers that miss meanwhile. */
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
    if (cached !== undefined && cached.expiresAt > now) return okAsync(cached.value);
    return this.#sharedLookup(
      `number ${phoneNumberId}`,
      () => this.#inner.findNumber(phoneNumberId),
      (route) => {
        if (this.#routes.size >= this.#maxEntries) this.#routes.clear();
        this.#routes.set(phoneNumberId, { value: route, expiresAt: now + this.#ttlMs });
      },
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
    return this.#sharedLookup(
      'apps',
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
    this.#apps = undefined;
    this.#lookups.clear();
  }

  /** The lookup under way for `key`, or a new one that caches its answer (`keep`) unless invalidated meanwhile. */
  #sharedLookup<T>(
    key: string,
    lookup: () => ResultAsync<T, StorageError>,
    keep: (value: T) => void,
  ): ResultAsync<T, StorageError> {
    const pending = this.#lookups.get(key) as ResultAsync<T, StorageError> | undefined;
    if (pending !== undefined) return pending;
    const generation = this.#generation;
    const started = lookup().map((value) => {
      if (generation === this.#generation) keep(value);
      return value;
    });
    const shared = new ResultAsync(
      Promise.resolve(started).finally(() => {
        if (this.#lookups.get(key) === shared) this.#lookups.delete(key);
      }),
    );
    this.#lookups.set(key, shared);
    return shared;
  }
}
