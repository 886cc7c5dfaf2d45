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
    findNumbers: (phoneNumberIds) => held<readonly NumberRoute[]>(`numbers ${phoneNumberIds.join(',')}`),
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
    expect(calls).toEqual(['apps', 'numbers 1001', 'numbers 2002']);
    answerAll(ok(apps));
    for (const answer of await Promise.all(asked)) expect(answer._unsafeUnwrap()).toBe(apps);
    await Promise.all([...numbers, other]);
    await cache.listApps();
    clock.advance(5001);
    const afterExpiry = [cache.listApps(), cache.listApps()];
    expect(calls).toEqual(['apps', 'numbers 1001', 'numbers 2002', 'apps']);
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
    answerAll(ok([]));
    await before;
    const after = cache.findNumber('1001' as PhoneNumberId);
    expect(calls).toEqual(['numbers 1001', 'numbers 1001']);
    answerAll(ok([]));
    await after;
  });
  it('refreshes the routes in use past half their life with the one that expired, in one lookup', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const clock = new ManualClock();
    const cache = new CachingTenantDirectory(directory, clock, { ttlMs: 5000 });
    const find = (number: string) => cache.findNumber(number as PhoneNumberId);
    const lookUp = async (number: string) => {
      const found = find(number);
      answerAll(ok([]));
      await found;
    };
    await lookUp('1001');
    clock.advance(2000);
    await lookUp('2002');
    clock.advance(1000);
    await lookUp('3003');
    clock.advance(1000);
    // Read since their lookups: 1001 (4 s old), 2002 (2 s old) and 3003 (1 s old, not half way yet).
    for (const number of ['1001', '2002', '3003']) await find(number);
    clock.advance(1001);
    // 1001 expired: 2002 is past half its life and read, 3003 is not yet half way.
    await lookUp('1001');
    expect(calls.at(-1)).toBe('numbers 1001,2002');
    // 2002 was refreshed with it: fresh for another full ttl, no lookup of its own.
    clock.advance(4999);
    await find('2002');
    expect(calls.at(-1)).toBe('numbers 1001,2002');
    // 3003 expired unread since 1 s before the refresh: it is looked up when asked, with 1001 and 2002 only
    // if they were read since theirs (2002 was).
    await lookUp('3003');
    expect(calls.at(-1)).toBe('numbers 3003,2002');
    expect(calls).toEqual([
      'numbers 1001',
      'numbers 2002',
      'numbers 3003',
      'numbers 1001,2002',
      'numbers 3003,2002',
    ]);
  });

  it('never serves a route refreshed along with another longer than its ttl after that lookup', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const clock = new ManualClock();
    const cache = new CachingTenantDirectory(directory, clock, { ttlMs: 5000 });
    const pending = [cache.findNumber('1001' as PhoneNumberId)];
    answerAll(ok([]));
    await Promise.all(pending);
    clock.advance(5000);
    const again = cache.findNumber('1001' as PhoneNumberId);
    expect(calls).toEqual(['numbers 1001', 'numbers 1001']);
    answerAll(ok([]));
    await again;
  });

  it('shares a refresh with the callers that miss any of the numbers it looks up', async () => {
    const { directory, calls, answerAll } = heldDirectory();
    const clock = new ManualClock();
    const cache = new CachingTenantDirectory(directory, clock, { ttlMs: 5000 });
    const first = [cache.findNumber('1001' as PhoneNumberId), cache.findNumber('2002' as PhoneNumberId)];
    answerAll(ok([]));
    await Promise.all(first);
    await cache.findNumber('2002' as PhoneNumberId);
    clock.advance(5000);
    const refreshing = [cache.findNumber('1001' as PhoneNumberId), cache.findNumber('2002' as PhoneNumberId)];
    expect(calls).toEqual(['numbers 1001', 'numbers 2002', 'numbers 1001,2002']);
    answerAll(ok([]));
    await Promise.all(refreshing);
  });
});
