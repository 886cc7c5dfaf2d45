import { afterAll, beforeAll, describe } from 'vitest';
import { openTestStorage, type TestStorage } from './test-database.ts';

/** A PostgreSQL server to test against (a database on it; CI sets it); PGlite-only runs without it. */
export const testServerUrl = process.env.TEST_DATABASE_URL;

export const postgresSkipReason = 'skipped: TEST_DATABASE_URL is not set (a database on a PostgreSQL server)';

export type DriverUnderTest = { readonly name: 'PGlite' | 'PostgreSQL'; readonly serverUrl?: string };

/** The drivers a suite runs on: PGlite always, a real server when TEST_DATABASE_URL is set. */
export const driversUnderTest: readonly DriverUnderTest[] = [
  { name: 'PGlite' },
  testServerUrl === undefined ? { name: 'PostgreSQL' } : { name: 'PostgreSQL', serverUrl: testServerUrl },
];

/**
 * Runs `suite` once per driver, each on a migrated database of its own for the whole describe block; on
 * PostgreSQL without TEST_DATABASE_URL the block is skipped, and its title says why.
 */
export const describeOnEachDriver = (
  title: string,
  suite: (context: () => TestStorage, driver: DriverUnderTest) => void,
  options: Parameters<typeof openTestStorage>[1] = {},
): void => {
  for (const driver of driversUnderTest) {
    const skipped = driver.name === 'PostgreSQL' && driver.serverUrl === undefined;
    describe.skipIf(skipped)(`${title} on ${driver.name}${skipped ? ` (${postgresSkipReason})` : ''}`, () => {
      let opened: TestStorage | undefined;
      beforeAll(async () => {
        opened = await openTestStorage(driver.serverUrl, options);
      }, 120_000);
      afterAll(async () => {
        await opened?.release();
      }, 120_000);
      suite(() => {
        if (opened === undefined) throw new Error('the test storage is not open yet');
        return opened;
      }, driver);
    });
  }
};

/**
 * Settles with `promise`, or rejects once `ms` have passed without it: for what must not wait for a lock
 * another connection holds.
 */
export const within = <T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    Promise.resolve(promise),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  ]);
