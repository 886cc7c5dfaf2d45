import { type StorageError, storageError } from '@prestabot/application';
import { ManualClock, ManualTimers, RecordingLogger } from '@prestabot/application/testing';
import { errAsync, okAsync, type ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { NumberSyncWorker } from './number-sync-worker.ts';

const minute = 60_000;

const setup = (answer: () => ResultAsync<readonly never[], StorageError>) => {
  const clock = new ManualClock(new Date('2026-03-02T12:00:00.000Z'));
  const timers = new ManualTimers(clock);
  const logger = new RecordingLogger();
  let checks = 0;
  const worker = new NumberSyncWorker({
    numbers: {
      syncDue: () => {
        checks += 1;
        return answer();
      },
    },
    logger,
    timers,
  });
  return { worker, timers, logger, checks: () => checks };
};

describe('NumberSyncWorker', () => {
  it('checks for numbers due a sync at start, then every hour', async () => {
    const { worker, timers, checks } = setup(() => okAsync([]));
    worker.start();
    await timers.runFor(0);
    expect(checks()).toBe(1);
    await timers.runFor(59 * minute);
    expect(checks()).toBe(1);
    await timers.runFor(minute);
    expect(checks()).toBe(2);
    await worker.stop();
  });

  it('logs a database it cannot read and tries again at the next check', async () => {
    const { worker, timers, logger, checks } = setup(() =>
      errAsync(storageError('unavailable', 'connection refused')),
    );
    worker.start();
    await timers.runFor(60 * minute);
    expect(checks()).toBe(2);
    expect(logger.at('error').map((line) => line.message)).toEqual([
      'cannot list the numbers to sync: connection refused; trying again at the next check',
      'cannot list the numbers to sync: connection refused; trying again at the next check',
    ]);
    await worker.stop();
  });
});
