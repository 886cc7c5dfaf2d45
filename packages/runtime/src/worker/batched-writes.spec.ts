import {
  type InboxQueue,
  type NewInboxEntry,
  type SendRecord,
  type StoredInboxEntry,
  storageError,
  type TenantSection,
} from '@prestabot/application';
import {
  deliveryStatus,
  expectErr,
  expectOk,
  inboundText,
  ManualClock,
  ManualTimers,
  RecordingLogger,
} from '@prestabot/application/testing';
import { errAsync, ok, okAsync, type PhoneNumberId, ResultAsync, type TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  groupCommittedIntake,
  groupCommittedRecorder,
  outcomeLingerMs,
  type StoringProcessor,
  statusLingerMs,
} from './batched-writes.ts';

/** A webhook's text message, its id its delivery key. */
const messageEntry = (id: string, receivedAt: Date): NewInboxEntry => ({
  id,
  phoneNumberId: '1001' as PhoneNumberId,
  deliveryKey: id,
  item: inboundText('1001', '56911112222', id),
  receivedAt,
});

/** A group-committed recorder on `timers` whose statements (the ids each records) are kept. */
const recorderOn = (timers: ManualTimers) => {
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
  return { statements, recorder };
};

describe('groupCommittedIntake', () => {
  it('has held messages answered in the write that stores them, returned without their lease, and frees their tenants after the commit or its failure', async () => {
    const clock = new ManualClock();
    const lease = { owner: 'host', leaseMs: 30_000 };
    const message = (id: string) => messageEntry(id, clock.now());
    let write: 'commits' | 'fails after processing' | 'fails before processing' = 'commits';
    const answeringSeen: (readonly string[] | undefined)[] = [];
    const inboxQueue: Pick<InboxQueue, 'store' | 'storeAndProcess'> = {
      store: () => {
        throw new Error('a processor is there: the write processes too');
      },
      storeAndProcess: ({ entries, lease: held, answering }, process) => {
        answeringSeen.push(answering);
        if (write === 'fails before processing') return errAsync(storageError('unavailable', 'down'));
        return ResultAsync.fromSafePromise(
          (async () => {
            const stored: StoredInboxEntry[] = entries.map((entry) => ({
              outcome: 'stored',
              entry: {
                ...entry,
                tenantId: 'tenant' as TenantId,
                attempts: 1,
                lease: { owner: held!.owner, until: new Date(1) },
              },
            }));
            const section: TenantSection = () => {
              throw new Error('not called by the fake processor');
            };
            return { stored, processed: (await process(stored, section)).result };
          })(),
        ).andThen((done) =>
          write === 'commits' ? okAsync(done) : errAsync(storageError('unavailable', 'down')),
        );
      },
    };
    const finished: [readonly string[], string[] | undefined, boolean][] = [];
    const processor: StoringProcessor = {
      routesWhileStoring: async () => new Map(),
      reserveWhileStoring: (entries) => ({
        tenants: new Set(['tenant' as TenantId]),
        ids: entries.map((entry) => entry.id),
      }),
      processWhileStoring: async (stored) => {
        const first = stored[0];
        const entries = first?.outcome === 'stored' && 'lease' in first.entry ? [first.entry] : [];
        return { entries, outcomes: [], left: [] };
      },
      finishWhileStoring: (answering, processed, committed) => {
        finished.push([answering.ids, processed?.entries.map((entry) => entry.id), committed]);
      },
    };
    const intake = groupCommittedIntake(
      { inboxQueue, clock, followUps: { origins: [], statuses: [] }, processor: () => processor },
      lease,
    );
    const results = await expectOk(intake.store([message('taken'), message('left')]));
    // The write is told what it is to answer, as reserved.
    expect(answeringSeen).toEqual([['taken', 'left']]);
    // The one the processor took comes back without its lease (nothing processes it again); the other keeps it.
    expect(results.map((result) => result.outcome === 'stored' && 'lease' in result.entry)).toEqual([
      false,
      true,
    ]);
    expect(finished).toEqual([[['taken', 'left'], ['taken'], true]]);
    write = 'fails after processing';
    await expectErr(intake.store([message('failed')]));
    // The tenants reserved are freed whether the write failed after processing or before.
    write = 'fails before processing';
    await expectErr(intake.store([message('refused')]));
    expect(finished.slice(1)).toEqual([
      [['failed'], ['failed'], false],
      [['refused'], undefined, false],
    ]);
  });

  it("records the outcomes waiting for their group commit in a message webhook's write, and gives them back when it cannot", async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const { statements, recorder } = recorderOn(timers);
    const logger = new RecordingLogger();
    let write: 'commits' | 'records nothing' | 'fails' = 'commits';
    const carried: string[][] = [];
    const inboxQueue: Pick<InboxQueue, 'store' | 'storeAndProcess'> = {
      store: () => {
        throw new Error('a processor is there: the write processes too');
      },
      storeAndProcess: ({ entries }, process, records = []) => {
        carried.push(records.map((record) => record.id));
        const section: TenantSection = () => {
          throw new Error('not called by the fake processor');
        };
        if (write === 'fails') return errAsync(storageError('unavailable', 'down'));
        const stored = entries.map(() => ({ outcome: 'duplicate' as const }));
        return ResultAsync.fromSafePromise(process(stored, section)).map(({ result }) => ({
          stored,
          processed: result,
          ...(write === 'commits' ? { recorded: records.map((record) => record.id !== 'refused') } : {}),
        }));
      },
    };
    let handOverThrows = false;
    const processor: StoringProcessor = {
      routesWhileStoring: async () => new Map(),
      reserveWhileStoring: () => ({ tenants: new Set(), ids: [] }),
      processWhileStoring: async () => ({ entries: [], outcomes: [], left: [] }),
      finishWhileStoring: () => {
        if (handOverThrows) throw new Error('a bug handing the replies over');
      },
    };
    const intake = groupCommittedIntake(
      {
        inboxQueue,
        clock,
        followUps: { origins: [], statuses: [] },
        processor: () => processor,
        records: recorder,
        timers,
        logger,
      },
      { owner: 'host', leaseMs: 30_000 },
    );
    const message = (id: string) => messageEntry(id, clock.now());
    const answers: [string, boolean][] = [];
    const record = (id: string) => {
      void recorder
        .record({ kind: 'sent', id, lease: { owner: 'w', until: new Date(30_000) }, at: clock.now() })
        .map((owned) => answers.push([id, owned]));
    };

    record('first');
    record('refused');
    await timers.runFor(outcomeLingerMs / 2);
    const first = intake.store([message('m1')]);
    await timers.runFor(0);
    await expectOk(first);
    // Carried by the webhook's write, answered from it; no statement of their own.
    expect(carried).toEqual([['first', 'refused']]);
    expect(answers).toEqual([
      ['first', true],
      ['refused', false],
    ]);

    write = 'fails';
    record('after a failed write');
    const failed = intake.store([message('m2')]);
    await timers.runFor(0);
    await expectErr(failed);
    write = 'records nothing';
    record('after a write that could not record');
    const third = intake.store([message('m3')]);
    await timers.runFor(0);
    await expectOk(third);
    // Each given back goes at once, within its linger or not, and is recorded on its own.
    await timers.runFor(0);
    expect(carried.slice(1)).toEqual([['after a failed write'], ['after a write that could not record']]);
    expect(statements).toEqual([['after a failed write'], ['after a write that could not record']]);
    expect(answers.slice(2)).toEqual([
      ['after a failed write', true],
      ['after a write that could not record', true],
    ]);
    // Only the recording undone in a write that committed is news: a failed write is reported as such.
    expect(logger.lines.map((line) => [line.level, line.fields['sends']])).toEqual([['warn', 1]]);

    // A bug after the commit still leaves no outcome hanging.
    write = 'commits';
    handOverThrows = true;
    record('before a bug');
    const buggy = intake.store([message('m4')]);
    await timers.runFor(0);
    await expect(Promise.resolve(buggy)).resolves.toMatchObject({ error: { reason: 'unexpected' } });
    expect(answers.at(-1)).toEqual(['before a bug', true]);
  });

  it('stores webhooks of statuses arriving within the linger in one write, and any other webhook at once with the statuses waiting', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const writes: string[][] = [];
    const inboxQueue: Pick<InboxQueue, 'store' | 'storeAndProcess'> = {
      store: ({ entries }) => {
        writes.push(entries.map((entry) => entry.id));
        return okAsync(entries.map(() => ({ outcome: 'applied' as const })));
      },
      storeAndProcess: () => {
        throw new Error('nothing is processed while storing without a lease');
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

  it('holds a status about a message whose statuses a write under way stores until that write is done', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const writes: string[][] = [];
    const finish: (() => void)[] = [];
    const inboxQueue: Pick<InboxQueue, 'store' | 'storeAndProcess'> = {
      store: ({ entries }) => {
        writes.push(entries.map((entry) => entry.id));
        return new ResultAsync(
          new Promise((resolve) =>
            finish.push(() => resolve(ok(entries.map(() => ({ outcome: 'applied' as const }))))),
          ),
        );
      },
      storeAndProcess: () => {
        throw new Error('nothing is processed while storing without a lease');
      },
    };
    const intake = groupCommittedIntake(
      { inboxQueue, clock, followUps: { origins: [], statuses: [] }, timers },
      undefined,
    );
    const status = (wamid: string, status: 'sent' | 'delivered') => [
      {
        id: `${wamid} ${status}`,
        phoneNumberId: '1001' as PhoneNumberId,
        deliveryKey: `${wamid} ${status}`,
        item: deliveryStatus('1001', wamid, status),
        receivedAt: clock.now(),
      },
    ];

    void intake.store(status('wamid.A', 'sent'));
    await timers.runFor(statusLingerMs);
    void intake.store(status('wamid.A', 'delivered'));
    void intake.store(status('wamid.B', 'sent'));
    await timers.runFor(statusLingerMs);
    // B's goes beside the write under way; A's second status waits for it rather than for its row locks.
    expect(writes).toEqual([['wamid.A sent'], ['wamid.B sent']]);
    finish.shift()?.();
    await timers.runFor(0);
    expect(writes).toEqual([['wamid.A sent'], ['wamid.B sent'], ['wamid.A delivered']]);
  });
});

describe('groupCommittedRecorder', () => {
  it('records the outcomes of sends that finish within the linger in one statement', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const { statements, recorder } = recorderOn(timers);
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
