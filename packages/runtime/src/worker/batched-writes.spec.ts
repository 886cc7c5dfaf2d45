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
  it('stores webhooks of statuses arriving within the linger in one write, and any other webhook at once', async () => {
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
    await timers.runFor(statusLingerMs / 2);
    store([entry('message', inboundText('1001', '56911112222', 'hola'))]);
    await timers.runFor(0);
    // The message went alone and is answered while the status still waits for company.
    expect(writes).toEqual([['message']]);
    expect(answered).toEqual(['message']);
    store(status('delivered'));
    store([...status('read'), entry('mixed', inboundText('1001', '56911112222', 'y'))]);
    await timers.runFor(statusLingerMs / 2);
    store(status('after the linger'));
    await timers.runFor(statusLingerMs * 2);

    expect(writes).toEqual([['message'], ['read', 'mixed'], ['sent', 'delivered'], ['after the linger']]);
    expect(answered).toEqual(['message', 'read+mixed', 'sent', 'delivered', 'after the linger']);
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
