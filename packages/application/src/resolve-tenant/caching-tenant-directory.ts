import { okAsync, type PhoneNumberId, type ResultAsync, type WabaId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { NumberRoute, RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';

type Cached<T> = { readonly value: T; readonly expiresAt: number };

/**
 * Keeps number routes and app secrets for a few seconds, so a webhook costs no database round trip for
 * routing whatever the number of numbers, while a number added or moved with the CLI is seen within
 * `ttlMs` by every process. Unknown numbers are remembered too, so a flood for a number we do not serve
 * does not reach the database.
 */
export class CachingTenantDirectory implements TenantDirectory {
  readonly #inner: TenantDirectory;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #routes = new Map<PhoneNumberId, Cached<NumberRoute | undefined>>();
  #apps: Cached<readonly RegisteredApp[]> | undefined;

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
    return this.#inner.findNumber(phoneNumberId).map((route) => {
      if (this.#routes.size >= this.#maxEntries) this.#routes.clear();
      this.#routes.set(phoneNumberId, { value: route, expiresAt: now + this.#ttlMs });
      return route;
    });
  }

  /** Not cached: account webhooks are rare, and must see a number's current state. */
  findWabaNumbers(wabaId: WabaId): ResultAsync<readonly NumberRoute[], StorageError> {
    return this.#inner.findWabaNumbers(wabaId);
  }

  listApps(): ResultAsync<readonly RegisteredApp[], StorageError> {
    const now = this.#clock.now().getTime();
    const cached = this.#apps;
    if (cached !== undefined && cached.expiresAt > now) return okAsync(cached.value);
    return this.#inner.listApps().map((apps) => {
      this.#apps = { value: apps, expiresAt: now + this.#ttlMs };
      return apps;
    });
  }

  listTenants() {
    return this.#inner.listTenants();
  }

  /** Forgets everything, e.g. after this process changed a number. */
  invalidate(): void {
    this.#routes.clear();
    this.#apps = undefined;
  }
}
