import { errAsync, okAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../testing/manual-clock.ts';
import { DatabaseClock } from './database-clock.ts';

describe('DatabaseClock', () => {
  it("gives two processes whose clocks are 40 s apart the same time: the database's", async () => {
    const database = new ManualClock(new Date('2026-03-02T12:00:00.000Z'));
    const readDatabaseTime = () => okAsync(database.now());
    const behind = new ManualClock(new Date(database.now().getTime() - 20_000));
    const ahead = new ManualClock(new Date(database.now().getTime() + 20_000));
    const [a, b] = [new DatabaseClock(behind, readDatabaseTime), new DatabaseClock(ahead, readDatabaseTime)];
    expect((await a.sync()).isOk()).toBe(true);
    expect((await b.sync()).isOk()).toBe(true);
    expect(a.now()).toEqual(database.now());
    expect(b.now()).toEqual(database.now());
    // Time still passes at the process's pace between readings.
    behind.advance(1500);
    expect(a.now().getTime() - database.now().getTime()).toBe(1500);
  });

  it('measures again, in the background, once the last measurement is old enough', async () => {
    const local = new ManualClock(new Date('2026-03-02T12:00:00.000Z'));
    let offsetMs = 10_000;
    let reads = 0;
    const clock = new DatabaseClock(
      local,
      () => {
        reads += 1;
        return okAsync(new Date(local.now().getTime() + offsetMs));
      },
      { resyncEveryMs: 60_000 },
    );
    await clock.sync();
    offsetMs = 12_000;
    local.advance(59_999);
    clock.now();
    expect(reads).toBe(3);
    local.advance(1);
    clock.now();
    clock.now();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reads).toBe(6);
    expect(clock.now().getTime() - local.now().getTime()).toBe(12_000);
  });

  it('trusts the reading with the shortest round trip (the first may include opening a connection)', async () => {
    const database = new ManualClock(new Date('2026-03-02T12:00:00.000Z'));
    const local = new ManualClock(new Date(database.now().getTime() + 40_000));
    const roundTripsMs = [300, 2, 10];
    const clock = new DatabaseClock(local, () => {
      // The database reads its clock at once; the answer takes the whole round trip to come back.
      const readAt = database.now();
      const roundTripMs = roundTripsMs.shift()!;
      local.advance(roundTripMs);
      database.advance(roundTripMs);
      return okAsync(readAt);
    });
    await clock.sync();
    expect(Math.abs(clock.now().getTime() - database.now().getTime())).toBeLessThanOrEqual(1);
  });

  it('keeps the offset it last measured when the database cannot be read', async () => {
    const local = new ManualClock(new Date('2026-03-02T12:00:00.000Z'));
    let reachable = true;
    const clock = new DatabaseClock(local, () =>
      reachable
        ? okAsync(new Date(local.now().getTime() + 40_000))
        : errAsync({ type: 'storage_error', reason: 'unavailable', message: 'down' } as const),
    );
    await clock.sync();
    reachable = false;
    expect((await clock.sync()).isErr()).toBe(true);
    expect(clock.now().getTime() - local.now().getTime()).toBe(40_000);
  });
});
