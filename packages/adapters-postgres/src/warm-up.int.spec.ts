import { expectOk, seedTenant, textOutboxEntry } from '@prestabot/application/testing';
import { describe, expect, it } from 'vitest';
import { createPostgresStorage, openSqlDriver } from './storage.ts';
import { describeOnEachDriver, driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { createTestDatabase } from './testing/test-database.ts';

describeOnEachDriver(
  'warming up connections before serving',
  (context, driver) => {
    it('warms each pooled connection (PGlite its one) and leaves every queue as it was', async () => {
      const { storage } = context();
      const { tenant, number } = await seedTenant(storage);
      const waiting = textOutboxEntry(number.phoneNumberId, { at: new Date() });
      await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([waiting])));

      expect(await expectOk(storage.warmUp())).toBe(driver.name === 'PGlite' ? 1 : 3);

      // Nothing was claimed, leased or paced: the message is still the next claim's, at once.
      const now = new Date();
      const claimed = await expectOk(
        storage.outboxQueue.claim({ owner: 'worker', limit: 10, leaseMs: 30_000, now, horizonMs: 1000 }),
      );
      expect(claimed.map((send) => send.id)).toEqual([waiting.id]);
      expect(claimed[0]?.sendAt.getTime()).toBe(now.getTime());
    });
  },
  { poolSize: 3 },
);

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

describe.skipIf(serverUrl === undefined)(
  `idle connections on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    // pg's pool closes a connection idle for 10 s, and the server compiles the message path again on the
    // one opened next: `serve` and `worker` keep theirs (idleTimeoutMs 0).
    it('close after idleTimeoutMs, and stay open while idle with 0', async () => {
      const warmedPool = async (idleTimeoutMs: number) => {
        const database = await createTestDatabase(serverUrl!);
        const storage = await expectOk(
          createPostgresStorage({ databaseUrl: database.url, poolSize: 3, idleTimeoutMs }),
        );
        const observer = await expectOk(openSqlDriver({ databaseUrl: database.url, poolSize: 1 }));
        await expectOk(storage.migrate());
        expect(await expectOk(storage.warmUp())).toBe(3);
        const openAfter = async (idleMs: number) => {
          await new Promise((resolve) => setTimeout(resolve, idleMs));
          const [row] = await expectOk(
            observer.query(
              `SELECT count(*)::integer AS open FROM pg_stat_activity
               WHERE datname = current_database() AND backend_type = 'client backend'
                 AND pid <> pg_backend_pid()`,
              [],
            ),
          );
          return row?.open;
        };
        const close = async () => {
          await observer.close();
          await storage.close();
          await database.drop();
        };
        return { openAfter, close };
      };
      // One after the other: migrations running at once in two databases race on the roles they share.
      const closing = await warmedPool(200);
      const kept = await warmedPool(0);
      try {
        expect(await Promise.all([closing.openAfter(1000), kept.openAfter(11_000)])).toEqual([0, 3]);
      } finally {
        await closing.close();
        await kept.close();
      }
    }, 60_000);
  },
);
