import type {
  ClaimedInboxEntry,
  EntryOutcome,
  InboundResponder,
  NumberRoute,
  NumberRoutes,
  StoredInboxEntry,
  TenantSection,
} from '@prestabot/application';
import {
  createInMemoryApp,
  encodeBatch,
  expectOk,
  inboundText,
  JsonBatchParser,
  storeInInbox,
  TestSignatureVerifier,
  testSignature,
  textInboxEntry,
} from '@prestabot/application/testing';
import {
  defined,
  errAsync,
  okAsync,
  type PhoneNumberId,
  ResultAsync,
  type TenantId,
} from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  defaultInboxWorkerOptions,
  InboxWorker,
  type InboxWorkerDependencies,
  maxMessagesWhileStoring,
} from './inbox-worker.ts';
import { workLeaseMs } from './lease-keeper.ts';
import { RecordingLeases } from './recording-leases.fixture.ts';

const secret = 'worker-secret';

const setup = (
  responders: InboundResponder[] = [],
  maxAttempts = 3,
  leases?: InboxWorkerDependencies['leases'],
) => {
  const app = createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
    responders,
  });
  let repliesQueued = 0;
  const worker = new InboxWorker(
    {
      inboxQueue: app.database.inboxQueue,
      processInbox: app.processInbox,
      unitOfWork: app.database.unitOfWork,
      clock: app.clock,
      logger: app.logger,
      metrics: app.metrics,
      onRepliesQueued: (ids) => {
        repliesQueued += ids.length;
      },
      ...defined({ leases }),
    },
    { ...defaultInboxWorkerOptions, owner: 'test-worker', idlePollMs: 5, maxAttempts },
  );
  /** Stores the items as a webhook does (for a worker's claim); the ids of the new entries. */
  const deliver = async (...items: Parameters<typeof encodeBatch>[0]) => {
    const before = new Set(app.database.inboxEntries().map((entry) => entry.id));
    await expectOk(
      app.ingestWebhook.execute({ rawBody: encodeBatch(items), signature: testSignature(secret) }),
    );
    return app.database
      .inboxEntries()
      .map((entry) => entry.id)
      .filter((id) => !before.has(id));
  };
  /** Claims these entries, as this worker, and hands them to it. */
  const processNow = async (ids: readonly string[]) => {
    const held = await expectOk(
      app.database.inboxQueue.claim({
        owner: 'test-worker',
        limit: 100,
        leaseMs: 30_000,
        now: app.clock.now(),
        ids,
      }),
    );
    await worker.submit(held);
  };
  return { app, worker, deliver, processNow, repliesQueued: () => repliesQueued };
};

describe('InboxWorker', () => {
  it('processes what a webhook stored for this process at once, without a claim', async () => {
    const { app, worker, repliesQueued } = setup();
    await app.addTenant('1001', 'token-a');
    await app.addTenant('2002', 'token-b');
    const entries = [
      textInboxEntry('1001' as PhoneNumberId, { waId: '56911111111' }),
      textInboxEntry('2002' as PhoneNumberId, { waId: '56922222222' }),
    ];
    const stored = await storeInInbox(app.database.inboxQueue, entries, {
      now: app.clock.now(),
      lease: { owner: 'test-worker', leaseMs: 30_000 },
    });
    const held = stored.flatMap((result) =>
      result.outcome === 'stored' && 'lease' in result.entry ? [result.entry] : [],
    );
    expect(held).toHaveLength(2);
    await worker.submit(held);
    expect(app.database.inboxEntries().every((row) => row.processedAt !== undefined)).toBe(true);
    expect(repliesQueued()).toBe(2);
  });

  it("answers stored messages in the storing transaction only for tenants with nothing in hand, keeping a sender's order", async () => {
    const calls: string[] = [];
    const gates = new Map<string, () => void>();
    const processedAll = (entries: readonly ClaimedInboxEntry[]): EntryOutcome[] =>
      entries.map((entry) => ({ entry, type: 'processed', enqueued: [], leased: [] }));
    const bodyOf = (entry: ClaimedInboxEntry) =>
      entry.item.kind === 'message' && entry.item.content.type === 'text' ? entry.item.content.body : '?';
    const processInbox: InboxWorkerDependencies['processInbox'] = {
      execute: async (entries) => {
        const bodies = entries.map(bodyOf).join('+');
        calls.push(`execute ${bodies}`);
        await new Promise<void>((resolve) => gates.set(bodies, resolve));
        return processedAll(entries);
      },
      routesOf: () => okAsync(new Map()),
      processInSections: async (entries) => {
        calls.push(`in the write ${entries.map(bodyOf).join('+')}`);
        return {
          outcomes: entries.map((entry) => ({ entry, type: 'processed', enqueued: ['reply'], leased: [] })),
          left: [],
        };
      },
    };
    let failHandOver = false;
    const app = createInMemoryApp({ verifier: new TestSignatureVerifier(), parser: new JsonBatchParser() });
    const worker = new InboxWorker(
      {
        inboxQueue: app.database.inboxQueue,
        processInbox,
        unitOfWork: app.database.unitOfWork,
        clock: app.clock,
        logger: app.logger,
        metrics: app.metrics,
        onRepliesQueued: () => {
          if (failHandOver) throw new Error('a bug in the hand-over');
        },
      },
      { ...defaultInboxWorkerOptions, owner: 'test-worker' },
    );
    const held = (tenant: string, body: string): ClaimedInboxEntry => {
      const entry = textInboxEntry(`100${tenant}` as PhoneNumberId, { waId: '56911111111' });
      return {
        ...entry,
        item: { ...entry.item, content: { type: 'text', body } },
        tenantId: `tenant-${tenant}` as TenantId,
        attempts: 1,
        lease: { owner: 'test-worker', until: new Date(app.clock.now().getTime() + 30_000) },
      } as ClaimedInboxEntry;
    };
    // Each tenant's number, 100<n>, as the routes read before a write give it.
    const routes: NumberRoutes = new Map(
      Array.from({ length: 9 }, (_, index) => [
        `100${index + 1}` as PhoneNumberId,
        { tenant: { id: `tenant-${index + 1}` as TenantId } } as NumberRoute,
      ]),
    );
    const stored = (...entries: ClaimedInboxEntry[]): StoredInboxEntry[] =>
      entries.map((entry) => ({ outcome: 'stored', entry }));
    const noSection = (() => {
      throw new Error('the fake processes no section');
    }) as TenantSection;
    // Tenant 1's first message is being answered here.
    const first = worker.submit([held('1', 'first')]);
    await expect.poll(() => gates.has('first')).toBe(true);
    // A write stores tenant 1's second message and tenant 2's: only tenant 2's is answered in it.
    const second = held('1', 'second');
    const other = held('2', 'other');
    const answering = worker.reserveWhileStoring([second, other], routes);
    expect(answering.ids).toEqual([other.id]);
    const taken = await worker.processWhileStoring(stored(second, other), noSection, routes, answering);
    expect(taken.entries.map(bodyOf)).toEqual(['other']);
    // Tenant 2 is the write's until it finishes: what arrives for it meanwhile waits.
    const later = worker.submit([held('2', 'later')]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['execute first', 'in the write other']);
    worker.finishWhileStoring(answering, taken, true);
    await expect.poll(() => gates.has('later')).toBe(true);
    // Tenant 1's second message, handed in after the write as a webhook's held entries are, waits for the first.
    const afterFirst = worker.submit([second]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['execute first', 'in the write other', 'execute later']);
    gates.get('first')!();
    await expect.poll(() => gates.has('second')).toBe(true);
    gates.get('later')!();
    gates.get('second')!();
    await Promise.all([first, later, afterFirst]);
    expect(calls).toEqual(['execute first', 'in the write other', 'execute later', 'execute second']);
    // A tenant handed entries after its reservation (a claim's, older than the write's) has them answered
    // first: the write answers none of its messages, and the tenant is freed for them after the write.
    const reserved = held('3', 'reserved');
    const answeringThree = worker.reserveWhileStoring([reserved], routes);
    const claimedMeanwhile = worker.submit([held('3', 'claimed')]);
    const skipped = await worker.processWhileStoring(stored(reserved), noSection, routes, answeringThree);
    expect(skipped.entries).toEqual([]);
    worker.finishWhileStoring(answeringThree, skipped, true);
    await expect.poll(() => gates.has('claimed')).toBe(true);
    gates.get('claimed')!();
    await claimedMeanwhile;
    // Handing the replies over throws (a bug): the tenant is freed all the same.
    failHandOver = true;
    const four = held('4', 'answered');
    const answeringFour = worker.reserveWhileStoring([four], routes);
    const answeredFour = await worker.processWhileStoring(stored(four), noSection, routes, answeringFour);
    expect(() => worker.finishWhileStoring(answeringFour, answeredFour, true)).toThrow('hand-over');
    const afterBug = worker.submit([held('4', 'after the bug')]);
    await expect.poll(() => gates.has('after the bug')).toBe(true);
    gates.get('after the bug')!();
    await afterBug;
    // A write carrying more messages than it may answer (a backlog) answers none of them.
    const backlog = Array.from({ length: maxMessagesWhileStoring + 1 }, (_, index) =>
      held(String(3 + index), `backlog ${index}`),
    );
    expect(worker.reserveWhileStoring(backlog, routes)).toEqual({ tenants: new Set(), ids: [] });
    expect(calls).toHaveLength(7);
  });

  it('has the leases of what it was handed kept from submission until each entry is settled', async () => {
    let finish!: () => void;
    const slow: InboundResponder = {
      respond: () =>
        ResultAsync.fromSafePromise(new Promise<void>((resolve) => (finish = resolve))).map(() => undefined),
    };
    const leases = new RecordingLeases();
    const { held } = leases;
    const { app, worker } = setup([slow], 3, leases);
    await app.addTenant('1001', 'token-a');
    const stored = await storeInInbox(
      app.database.inboxQueue,
      [textInboxEntry('1001' as PhoneNumberId, { waId: '56911111111' })],
      { now: app.clock.now(), lease: { owner: 'test-worker', leaseMs: workLeaseMs } },
    );
    const entries = stored.flatMap((result) =>
      result.outcome === 'stored' && 'lease' in result.entry ? [result.entry] : [],
    );
    const processed = worker.submit(entries);
    expect([...held]).toEqual([`inbox:${entries[0]!.id}`]);
    await expect.poll(() => finish).toBeDefined();
    expect([...held]).toEqual([`inbox:${entries[0]!.id}`]);
    finish();
    await processed;
    expect(app.database.inboxEntry(entries[0]!.id)?.processedAt).toBeDefined();
    expect([...held]).toEqual([]);
  });

  it("hands a failed message back with the sender's later messages held here, so they stay in order", async () => {
    // Once in the batch, once alone: the entry fails.
    let failures = 2;
    const failTwice: InboundResponder = {
      respond: (context) =>
        context.message.content.type === 'text' && context.message.content.body === 'first' && failures-- > 0
          ? errAsync({ type: 'storage_error', reason: 'retryable', message: 'deadlock' } as const)
          : okAsync(undefined),
    };
    const { app, worker } = setup([failTwice]);
    await app.addTenant('1001', 'token-a');
    const said = (body: string, sentAt: Date) => {
      const entry = textInboxEntry('1001' as PhoneNumberId, { waId: '56911111111', sentAt });
      return { ...entry, item: { ...entry.item, content: { type: 'text' as const, body } } } as typeof entry;
    };
    const [first, second] = [
      said('first', app.clock.now()),
      said('second', new Date(app.clock.now().getTime() + 1000)),
    ];
    const stored = await storeInInbox(app.database.inboxQueue, [first!, second!], {
      now: app.clock.now(),
      lease: { owner: 'test-worker', leaseMs: 30_000 },
    });
    await worker.submit(
      stored.flatMap((result) =>
        result.outcome === 'stored' && 'lease' in result.entry ? [result.entry] : [],
      ),
    );
    const row = (id: string) => app.database.inboxEntry(id)!;
    expect(row(first!.id).processedAt).toBeUndefined();
    expect(row(second!.id).processedAt).toBeUndefined();
    app.clock.advance(60_000);
    await app.drain();
    const replies = app.gateway.sentTo('56911111111');
    expect(replies).toHaveLength(2);
    expect(replies.map((reply) => reply.message.type)).toEqual(['buttons', 'text']);
    expect(row(first!.id).processedAt!.getTime()).toBeLessThanOrEqual(row(second!.id).processedAt!.getTime());
  });

  it('processes what a webhook just stored and tells the sender there are replies', async () => {
    const { app, processNow, deliver, repliesQueued } = setup();
    await app.addTenant('1001', 'token-a');
    const ids = await deliver(
      inboundText('1001', '56911111111', 'hola'),
      inboundText('1001', '56922222222', 'hola'),
    );
    await processNow(ids);
    expect(app.database.inboxEntries().every((row) => row.processedAt !== undefined)).toBe(true);
    expect(app.database.outboxMessages().length).toBe(2);
    expect(repliesQueued()).toBe(2);
  });

  it('hands a failing entry back with a delay, and abandons it, logged, after the last attempt', async () => {
    const exploding: InboundResponder = {
      respond: () =>
        okAsync(undefined).map(() => {
          throw new Error('responder bug');
        }),
    };
    const { app, processNow, deliver } = setup([exploding], 3);
    await app.addTenant('1001', 'token-a');
    const [id] = await deliver(inboundText('1001', '56911111111', 'hola'));
    await processNow([id!]);
    const row = () => app.database.inboxEntry(id!)!;
    expect(row()).toMatchObject({ attempts: 1, lastError: 'responder bug' });
    expect(row().processedAt).toBeUndefined();
    await processNow([id!]);
    expect(row().attempts).toBe(1);
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      app.clock.advance(10 * 60_000);
      await processNow([id!]);
    }
    expect(row()).toMatchObject({ attempts: 3, abandoned: true });
    expect(app.logger.at('error').some((line) => line.message.includes('abandoned after 3 attempts'))).toBe(
      true,
    );
    expect(app.database.outboxMessages().length).toBe(0);
  });

  it('retries storage failures instead of losing the entry', async () => {
    let failures = 1;
    const flaky: InboundResponder = {
      respond: () =>
        failures-- > 0
          ? errAsync({ type: 'storage_error', reason: 'retryable', message: 'deadlock' } as const)
          : okAsync(undefined),
    };
    const { app, processNow, deliver } = setup([flaky]);
    await app.addTenant('1001', 'token-a');
    const [id] = await deliver(inboundText('1001', '56911111111', 'hola'));
    await processNow([id!]);
    expect(app.database.inboxEntry(id!)?.processedAt).toBeUndefined();
    app.clock.advance(60_000);
    await processNow([id!]);
    expect(app.database.inboxEntry(id!)?.processedAt).toBeDefined();
    expect(app.database.outboxMessages().length).toBe(1);
  });

  it('picks up, in its loop, what nobody told it about, and stops cleanly', async () => {
    const { app, worker, deliver } = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(inboundText('1001', '56911111111', 'hola'));
    worker.start();
    await expect
      .poll(() => app.database.inboxEntries().every((row) => row.processedAt !== undefined), {
        timeout: 2000,
      })
      .toBe(true);
    await worker.stop();
    expect(app.metrics.gauge('queue_depth', { queue: 'inbox' })).toBe(0);
  });

  it('reports the queue depth once per interval, idle or working through a backlog', async () => {
    const app = createInMemoryApp({
      verifier: new TestSignatureVerifier(),
      parser: new JsonBatchParser(),
      deploymentAppSecret: secret,
    });
    await app.addTenant('1001', 'token-a');
    await expectOk(
      app.ingestWebhook.execute({
        rawBody: encodeBatch([
          inboundText('1001', '56911111111', 'uno'),
          inboundText('1001', '56922222222', 'dos'),
          inboundText('1001', '56933333333', 'tres'),
        ]),
        signature: testSignature(secret),
      }),
    );
    const queue = app.database.inboxQueue;
    const reported: number[] = [];
    const counted: typeof queue = Object.assign(Object.create(queue), {
      depth: (now: Date) =>
        queue.depth(now).map((depth) => {
          reported.push(depth.pending);
          return depth;
        }),
      claim: (request: Parameters<typeof queue.claim>[0]) => {
        claims += 1;
        return queue.claim(request);
      },
    });
    let claims = 0;
    const worker = new InboxWorker(
      {
        inboxQueue: counted,
        processInbox: app.processInbox,
        unitOfWork: app.database.unitOfWork,
        clock: app.clock,
        logger: app.logger,
        metrics: app.metrics,
        onRepliesQueued: () => {},
      },
      { ...defaultInboxWorkerOptions, owner: 'test-worker', idlePollMs: 5, batchSize: 1 },
    );
    worker.start();
    await expect.poll(() => claims, { timeout: 2000 }).toBeGreaterThan(8);
    // The first turn took one entry of three: the depth is reported then, not once the backlog is gone.
    expect(reported).toEqual([2]);
    app.clock.advance(defaultInboxWorkerOptions.depthIntervalMs);
    const before = claims;
    await expect.poll(() => claims, { timeout: 2000 }).toBeGreaterThan(before + 8);
    await worker.stop();
    expect(reported).toEqual([2, 0]);
    expect(app.metrics.gauge('queue_depth', { queue: 'inbox' })).toBe(0);
  });
});
