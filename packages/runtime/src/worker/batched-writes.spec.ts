import type { SendRecord } from '@prestabot/application';
import { ManualClock, ManualTimers, RecordingLogger } from '@prestabot/application/testing';
import { okAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { groupCommittedRecorder, outcomeLingerMs } from './batched-writes.ts';

describe('groupCommittedRecorder', () => {
  it('records the outcomes of sends that finish within the linger in one statement', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const statements: string[][] = [];
    const recorder = groupCommittedRecorder({
      outboxQueue: {
        record: (records) => {
          statements.push(records.map((record) => record.id));
          return okAsync(records.map(() => true));
        },
      },
      logger: new RecordingLogger(),
      timers,
    });
    const sent = (id: string): SendRecord => ({
      kind: 'sent',
      id,
      lease: { owner: 'w', until: new Date(clock.now().getTime() + 30_000) },
      at: clock.now(),
    });
    const recorded: boolean[] = [];
    const record = (id: string) => {
      void recorder.record(sent(id)).map((owned) => recorded.push(owned));
    };

    record('first');
    await timers.runFor(outcomeLingerMs / 2);
    record('second');
    await timers.runFor(outcomeLingerMs / 2);
    record('after the linger');
    await timers.runFor(outcomeLingerMs);

    expect(statements).toEqual([['first', 'second'], ['after the linger']]);
    expect(recorded).toEqual([true, true, true]);
  });
});
