import { createServer, type Server, type Socket } from 'node:net';
import { expectErr, expectOk, fixtureTenant, seedTenant } from '@prestabot/application/testing';
import type { PhoneNumberId } from '@prestabot/domain';
import { ResultAsync } from '@prestabot/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStorage, type PostgresStorage } from './storage.ts';
import { driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';

const listening = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

/** Every kind of call fails as `unavailable`, as data: a webhook answers 503 and Meta retries. */
const expectEveryCallUnavailable = async (storage: PostgresStorage) => {
  const tenant = fixtureTenant();
  const unavailable = { type: 'storage_error', reason: 'unavailable' };
  expect(await expectErr(storage.unitOfWork.run(tenant.id, (r) => r.tenant.current()))).toMatchObject(
    unavailable,
  );
  expect(await expectErr(storage.directory.findNumber('1065403522429' as PhoneNumberId))).toMatchObject(
    unavailable,
  );
  const now = new Date();
  expect(await expectErr(storage.inboxQueue.claim({ owner: 'w', limit: 1, leaseMs: 1, now }))).toMatchObject(
    unavailable,
  );
  expect(
    await expectErr(storage.outboxQueue.claim({ owner: 'w', limit: 1, leaseMs: 1, now, horizonMs: 1 })),
  ).toMatchObject(unavailable);
  expect(await expectErr(storage.migrate())).toMatchObject(unavailable);
  expect(await expectOk(storage.inspect())).toMatchObject({ reachable: false, error: unavailable });
};

describe('a database that is down', () => {
  let closedPort: number;
  // Accepts connections and never answers, like a host behind a dead firewall.
  const heldOpen = new Set<Socket>();
  const blackHole = createServer((socket) => heldOpen.add(socket));
  let blackHolePort: number;
  beforeAll(async () => {
    const probe = createServer();
    closedPort = await listening(probe);
    await new Promise((resolve) => probe.close(resolve));
    blackHolePort = await listening(blackHole);
  });
  afterAll(async () => {
    for (const socket of heldOpen) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('is reported as unavailable when nothing listens on its port, never thrown', async () => {
    const storage = await expectOk(
      createPostgresStorage({ databaseUrl: `postgres://postgres@127.0.0.1:${closedPort}/prestabot` }),
    );
    await expectEveryCallUnavailable(storage);
    await storage.close();
  });

  it('is reported as unavailable when it accepts connections and never answers', async () => {
    const storage = await expectOk(
      createPostgresStorage({
        databaseUrl: `postgres://postgres@127.0.0.1:${blackHolePort}/prestabot`,
        connectTimeoutMs: 200,
      }),
    );
    await expectEveryCallUnavailable(storage);
    await storage.close();
  });

  it('is reported as unavailable once the embedded PGlite is closed', async () => {
    const storage = await expectOk(createPostgresStorage());
    await storage.close();
    await expectEveryCallUnavailable(storage);
  });
});

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

describe.skipIf(serverUrl === undefined)(
  `a connection lost in the middle of a transaction on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('fails that transaction as unavailable, and the pool serves the next one on a new connection', async () => {
      const { storage, driver, databaseUrl, release } = await openTestStorage(serverUrl, { poolSize: 1 });
      const { Client } = await import('pg');
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        const { tenant } = await seedTenant(storage);
        const lost = await driver.transaction((session) =>
          session
            .query('SELECT pg_backend_pid() AS pid')
            .andThen(([row]) =>
              // Waits (up to 5 s) until the server has ended that connection.
              ResultAsync.fromSafePromise(admin.query('SELECT pg_terminate_backend($1, 5000)', [row?.pid])),
            )
            .andThen(() => session.query('SELECT 1')),
        );
        expect(lost._unsafeUnwrapErr()).toMatchObject({ type: 'storage_error', reason: 'unavailable' });
        expect(await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.tenant.current()))).toEqual(tenant);
      } finally {
        await admin.end();
        await release();
      }
    });
  },
);
