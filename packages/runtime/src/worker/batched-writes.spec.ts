import type { InboxQueue, NewInboxEntry, SendRecord } from '@prestabot/application';
import {
  deliveryStatus,
  inboundText,
  ManualClock,
  ManualTimers,
  RecordingLogger,
} from '@prestabot/application/testing';
import { okAsync, type PhoneNumberId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  groupCommittedIntake,
  groupCommittedRecorder,
  outcomeLingerMs,
  statusLingerMs,
} from './batched-writes.ts';

describe('groupCommittedIntake', () => {
  it('stores webhooks of statuses arriving within the linger in one write, and any other webhook at once with the statuses waiting', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const writes: string[][] = [];
    const inboxQueue: Pick<InboxQueue, 'store'> = {
      store: ({ entries }) => {
        writes.push(entries.map((entry) => entry.id));
        return okAsync(entries.map(() => ({ outcome: 'applied' as const })));
      },
    };
    const intake = groupCommittedIntake(
      { inboxQueue, clock, followUps: { origins: [], statuses: [] }, timers },
      undefined,
    );
    const entry = (id: string, item: NewInboxEntry['item']): NewInboxEntry => ({
      id,
      phoneNumberId: '1001' as PhoneNumberId,
      deliveryKey: id,
      item,
      receivedAt: clock.now(),
    });
    const status = (id: string) => [entry(id, deliveryStatus('1001', `wamid.${id}`, 'delivered'))];
    const answered: string[] = [];
    const store = (entries: readonly NewInboxEntry[]) => {
      void intake.store(entries).map(() => answered.push(entries.map((e) => e.id).join('+')));
    };

    store(status('sent'));
    store(status('delivered'));
    await timers.runFor(statusLingerMs / 2);
    // Statuses alone wait for company.
    expect(writes).toEqual([]);
    store([entry('message', inboundText('1001', '56911112222', 'hola'))]);
    await timers.runFor(0);
    // A message goes at once, and the statuses waiting go in its commit.
    expect(writes).toEqual([['sent', 'delivered', 'message']]);
    expect(answered).toEqual(['sent', 'delivered', 'message']);
    store(status('read'));
    await timers.runFor(statusLingerMs / 2);
    store([...status('read again'), entry('mixed', inboundText('1001', '56911112222', 'y'))]);
    await timers.runFor(0);
    store(status('after the linger'));
    await timers.runFor(statusLingerMs - 1);
    expect(writes).toHaveLength(2);
    await timers.runFor(1);

    expect(writes).toEqual([
      ['sent', 'delivered', 'message'],
      ['read', 'read again', 'mixed'],
      ['after the linger'],
    ]);
    expect(answered).toEqual([
      'sent',
      'delivered',
      'message',
      'read',
      'read again+mixed',
      'after the linger',
    ]);
  });
});

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
