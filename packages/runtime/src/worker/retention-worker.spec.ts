import type { FinishedWorkRetention } from '@prestabot/application';
import {
  expectOk,
  fixturePhone,
  InMemoryDatabase,
  ManualClock,
  ManualTimers,
  RecordingLogger,
  seedTenant,
  storeInInbox,
  textInboxEntry,
} from '@prestabot/application/testing';
import { ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  defaultRetentionWorkerOptions,
  RetentionWorker,
  type RetentionWorkerOptions,
} from './retention-worker.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const ago = (ms: number) => new Date(t0.getTime() - ms);

const setup = async (options: Partial<RetentionWorkerOptions> = {}) => {
  const database = new InMemoryDatabase();
  const clock = new ManualClock(t0);
  const timers = new ManualTimers(clock);
  const logger = new RecordingLogger();
  const prunes: { readonly before: Date; readonly limit: number }[] = [];
  const retention: FinishedWorkRetention = {
    pruneFinished: (before, limit) => {
      prunes.push({ before, limit });
      return database.finishedWorkRetention.pruneFinished(before, limit);
    },
  };
  const worker = new RetentionWorker(
    { retention, clock, logger, timers },
    { ...defaultRetentionWorkerOptions, retentionDays: 30, ...options },
  );
  const { tenant, number } = await seedTenant(database.harness());
  /** Inbox entries (one per sender, so all are claimed at once) processed at `at`; their ids. */
  const processed = async (count: number, at: Date) => {
    const entries = Array.from({ length: count }, () =>
      textInboxEntry(number.phoneNumberId, { waId: fixturePhone().slice(1), sentAt: ago(60 * day) }),
    );
    await storeInInbox(database.inboxQueue, entries);
    const claimed = await expectOk(
      database.inboxQueue.claim({
        owner: 'test',
        limit: count,
        leaseMs: minute,
        now: clock.now(),
        ids: entries.map((entry) => entry.id),
      }),
    );
    await expectOk(
      database.unitOfWork.run(tenant.id, (r) =>
        ResultAsync.combine(
          claimed.map((entry) => r.inbox.complete([{ id: entry.id, lease: entry.lease }], at)),
        ),
      ),
    );
    return entries.map((entry) => entry.id);
  };
  const stored = (ids: readonly string[]) => ids.filter((id) => database.inboxEntry(id) !== undefined);
  const prunedLines = () =>
    logger.at('info').filter((line) => line.message === 'pruned finished inbox entries and outbox messages');
  return { database, worker, timers, logger, prunes, processed, stored, prunedLines };
};

describe('RetentionWorker', () => {
  it('prunes at start, then every hour, what finished more than the retention period ago, and logs it', async () => {
    const { worker, timers, prunes, processed, stored, prunedLines } = await setup();
    const old = await processed(2, ago(31 * day));
    const nearlyOld = await processed(1, ago(30 * day - 30 * minute));
    const recent = await processed(1, ago(day));
    worker.start();
    await timers.runFor(0);
    expect(prunes).toEqual([{ before: ago(30 * day), limit: 5000 }]);
    expect(stored(old)).toEqual([]);
    expect(stored([...nearlyOld, ...recent])).toEqual([...nearlyOld, ...recent]);
    expect(prunedLines().map((line) => line.fields)).toEqual([
      { inbox: 2, outbox: 0, finishedBefore: ago(30 * day).toISOString() },
    ]);

    await timers.runFor(59 * minute);
    expect(prunes).toHaveLength(1);
    await timers.runFor(minute);
    expect(prunes).toHaveLength(2);
    expect(stored([...nearlyOld, ...recent])).toEqual(recent);
    await worker.stop();
  });

  it('goes on batch after batch while they come back full, then waits for the next sweep', async () => {
    const { worker, timers, prunes, processed, stored, prunedLines } = await setup({ batchSize: 2 });
    const old = await processed(5, ago(40 * day));
    worker.start();
    await timers.runFor(0);
    expect(prunes.map((prune) => prune.limit)).toEqual([2, 2, 2]);
    expect(stored(old)).toEqual([]);
    expect(prunedLines().map((line) => line.fields.inbox)).toEqual([2, 2, 1]);
    await timers.runFor(hour - 1);
    expect(prunes).toHaveLength(3);
    await worker.stop();
  });

  it('stops after the batch in progress, however much is left to prune', async () => {
    const { worker, prunes, processed, stored } = await setup({ batchSize: 1 });
    const old = await processed(3, ago(40 * day));
    worker.start();
    await worker.stop();
    expect(prunes).toHaveLength(1);
    expect(stored(old)).toHaveLength(2);
  });

  it('logs a storage failure and prunes at the next sweep', async () => {
    const { database, worker, timers, logger, processed, stored } = await setup();
    const old = await processed(1, ago(40 * day));
    database.setUnavailable(true);
    worker.start();
    await timers.runFor(0);
    expect(logger.at('error').map((line) => line.message)).toEqual([
      'cannot prune finished queue rows: the in-memory database is switched off; trying again at the next sweep',
    ]);
    database.setUnavailable(false);
    await timers.runFor(hour);
    expect(stored(old)).toEqual([]);
    await worker.stop();
  });
});
