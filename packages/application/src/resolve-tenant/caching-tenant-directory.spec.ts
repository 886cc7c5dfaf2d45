import { err, ok, type PhoneNumberId, type Result, ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { type StorageError, storageError } from '../errors.ts';
import type { NumberRoute, RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';
import { ManualClock } from '../testing/manual-clock.ts';
import { CachingTenantDirectory } from './caching-tenant-directory.ts';

/** A directory whose every lookup waits until the test answers it, counting lookups. */
const heldDirectory = () => {
  const waiting: ((answer: Result<unknown, StorageError>) => void)[] = [];
  const calls: string[] = [];
  const held = <T>(call: string) => {
    calls.push(call);
    return new ResultAsync(
      new Promise<Result<T, StorageError>>((resolve) => {
        waiting.push(resolve as (answer: Result<unknown, StorageError>) => void);
      }),
    );
  };
  const directory: TenantDirectory = {
    findNumber: (phoneNumberId) => held<NumberRoute | undefined>(`number ${phoneNumberId}`),
    findWabaNumbers: () => held<readonly NumberRoute[]>('waba'),
    listApps: () => held<readonly RegisteredApp[]>('apps'),
    listTenants: () => held('tenants'),
  };
  /** Answers every lookup waiting now. */
  const answerAll = (answer: Result<unknown, StorageError>) => {
    for (const resolve of waiting.splice(0)) resolve(answer);
  };
  return { directory, calls, answerAll };
};

const apps: readonly RegisteredApp[] = [];

describe('CachingTenantDirectory', () => {
  it('makes one lookup for the callers that miss while it runs, and none while its answer is fresh', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const clock = new ManualClock();
    const cache = new CachingTenantDirectory(directory, clock, { ttlMs: 5000 });
    const asked = Array.from({ length: 64 }, () => cache.listApps());
    const numbers = [cache.findNumber('1001' as PhoneNumberId), cache.findNumber('1001' as PhoneNumberId)];
    const other = cache.findNumber('2002' as PhoneNumberId);
    expect(calls).toEqual(['apps', 'number 1001', 'number 2002']);
    answerAll(ok(apps));
    for (const answer of await Promise.all(asked)) expect(answer._unsafeUnwrap()).toBe(apps);
    await Promise.all([...numbers, other]);
    await cache.listApps();
    clock.advance(5001);
    const afterExpiry = [cache.listApps(), cache.listApps()];
    expect(calls).toEqual(['apps', 'number 1001', 'number 2002', 'apps']);
    answerAll(ok(apps));
    await Promise.all(afterExpiry);
  });

  it('shares a failed lookup with the callers waiting on it, caches nothing, and looks up again next time', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const cache = new CachingTenantDirectory(directory, new ManualClock(), { ttlMs: 5000 });
    const failing = [cache.listApps(), cache.listApps()];
    answerAll(err(storageError('unavailable', 'down')));
    for (const answer of await Promise.all(failing)) expect(answer.isErr()).toBe(true);
    const retried = cache.listApps();
    expect(calls).toEqual(['apps', 'apps']);
    answerAll(ok(apps));
    expect((await retried).isOk()).toBe(true);
  });

  it('does not keep what a lookup begun before `invalidate` answered', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const cache = new CachingTenantDirectory(directory, new ManualClock(), { ttlMs: 5000 });
    const before = cache.findNumber('1001' as PhoneNumberId);
    cache.invalidate();
    answerAll(ok(undefined));
    await before;
    const after = cache.findNumber('1001' as PhoneNumberId);
    expect(calls).toEqual(['number 1001', 'number 1001']);
    answerAll(ok(undefined));
    await after;
  });
});
