import { defaultSendPolicy, type OutboxQueue, type SendPolicy, SendRateGuard } from '@prestabot/application';
import {
  createInMemoryApp,
  expectOk,
  JsonBatchParser,
  ManualClock,
  ManualTimers,
  maxInAnySecond,
  RecordingLogger,
  TestSignatureVerifier,
  TimedGateway,
  textOutboxEntry,
} from '@prestabot/application/testing';
import { defined, type PhoneNumberId, ResultAsync, type TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  defaultOutboxDispatcherOptions,
  OutboxDispatcher,
  type OutboxDispatcherDependencies,
  type OutboxDispatcherOptions,
} from './outbox-dispatcher.ts';
import { RecordingLeases } from './recording-leases.fixture.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');

/**
 * `call`, each call held until `releaseAll`: how many are held at once, now and at most, shows how many the
 * dispatcher lets run together.
 */
const heldUntilReleased = <A, T, E>(call: (argument: A) => ResultAsync<T, E>) => {
  const held: (() => void)[] = [];
  let waiting = 0;
  let most = 0;
  return {
    call: (argument: A): ResultAsync<T, E> => {
      waiting += 1;
      most = Math.max(most, waiting);
      return new ResultAsync(
        new Promise<void>((resolve) => held.push(resolve)).then(() => call(argument)),
      ).map((value) => {
        waiting -= 1;
        return value;
      });
    },
    releaseAll: () => {
      for (const release of held.splice(0)) release();
    },
    waiting: () => waiting,
    most: () => most,
  };
};

const setup = (
  options: Partial<OutboxDispatcherOptions> = {},
  policy: SendPolicy = defaultSendPolicy,
  leases?: OutboxDispatcherDependencies['leases'],
) => {
  const clock = new ManualClock(t0);
  const timers = new ManualTimers(clock);
  const logger = new RecordingLogger();
  let gateway!: TimedGateway;
  const app = createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    clock,
    logger,
    sendPolicy: policy,
    gatewayOf: (recording) => {
      gateway = new TimedGateway(clock, recording);
      return gateway;
    },
    paceSends: (inner, directory) => new SendRateGuard({ directory, clock, logger, timers }).guard(inner),
  });
  const { database, metrics, manageTenants, sendQueuedMessage: sender } = app;
  const { unitOfWork } = database;
  let claims = 0;
  const leaseSizes: number[] = [];
  const queue: OutboxQueue = {
    ...database.outboxQueue,
    claim: (request) => {
      claims += 1;
      return database.outboxQueue.claim(request);
    },
    lease: (request) => {
      leaseSizes.push(request.ids.length);
      return database.outboxQueue.lease(request);
    },
  };
  const dispatcher = new OutboxDispatcher(
    { queue, sender, clock, logger, metrics, timers, ...defined({ leases }) },
    { ...defaultOutboxDispatcherOptions, owner: 'worker-1', ...options },
  );
  const addNumber = async (phoneNumberId: string, ratePerSecond: number) => {
    const { tenantId } = await expectOk(
      manageTenants.addTenant({
        name: `Tenant ${phoneNumberId}`,
        phoneNumberId,
        accessToken: `EAAG-${phoneNumberId}`,
        wabaId: '102290129340398',
        ratePerSecond,
      }),
    );
    gateway.inner.allow(phoneNumberId as PhoneNumberId, `EAAG-${phoneNumberId}`);
    return tenantId;
  };
  const enqueue = async (tenantId: TenantId, phoneNumberId: string, count: number, priority = 0) => {
    const entries = Array.from({ length: count }, () =>
      textOutboxEntry(phoneNumberId as PhoneNumberId, { at: clock.now(), priority }),
    );
    await expectOk(unitOfWork.run(tenantId, (repositories) => repositories.outbox.enqueue(entries)));
    return entries.map((entry) => entry.id);
  };
  const sendTimes = (phoneNumberId: string) =>
    gateway.sentAt.filter((send) => send.phoneNumberId === phoneNumberId).map((send) => send.at);
  const outboxStatus = () => database.outboxMessages().map((row) => row.status);
  /** Stops, moving time on while the dispatcher sends what it had claimed. */
  const stop = async () => {
    let stopped = false;
    const stopping = dispatcher.stop().then(() => {
      stopped = true;
    });
    for (let step = 0; step < 100 && !stopped; step += 1) await timers.runFor(100);
    await stopping;
  };
  return {
    stop,
    database,
    clock,
    timers,
    logger,
    metrics,
    gateway,
    manageTenants,
    dispatcher,
    addNumber,
    enqueue,
    sendTimes,
    outboxStatus,
    claims: () => claims,
    /** How many sends each lease (not a claim) named. */
    leaseSizes,
  };
};

describe('OutboxDispatcher', () => {
  it("sends each message at its slot, never early, within the number's rate in every second, close to it", async () => {
    const { dispatcher, timers, addNumber, enqueue, sendTimes, database, clock, stop } = setup();
    const tenantId = await addNumber('1001', 5);
    await enqueue(tenantId, '1001', 30);
    const slots: Date[] = [];
    const claim = database.outboxQueue.claim.bind(database.outboxQueue);
    database.outboxQueue.claim = (request) =>
      claim(request).map((sends) => {
        slots.push(...sends.map((send) => send.sendAt));
        return sends;
      });
    dispatcher.start();
    await timers.runFor(8000);
    await stop();
    const times = sendTimes('1001');
    expect(times).toHaveLength(30);
    expect(maxInAnySecond(times)).toBeLessThanOrEqual(5);
    // Each send went at or after its slot.
    expect(times.map(Number)).toEqual(slots.map(Number));
    const spanSeconds = (times.at(-1)!.getTime() - times[0]!.getTime()) / 1000;
    expect(29 / spanSeconds).toBeGreaterThanOrEqual(5 * 0.95);
    expect(clock.now().getTime()).toBeGreaterThan(times.at(-1)!.getTime());
  });

  it('keeps every second within the rate after an event-loop stall fires many slots late at once', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes } = setup({ horizonMs: 2000 });
    const tenantId = await addNumber('1001', 10);
    await enqueue(tenantId, '1001', 60);
    dispatcher.start();
    await timers.runFor(300);
    // Slots of the next 1.5 s all come due during the stall: too late to go, they are leased again.
    await timers.stall(1500);
    await timers.runFor(8000);
    await stop();
    const times = sendTimes('1001');
    expect(times).toHaveLength(60);
    expect(maxInAnySecond(times)).toBeLessThanOrEqual(10);
    const stalledAt = times.filter((time) => time.getTime() === t0.getTime() + 1800);
    expect(stalledAt.length).toBeLessThanOrEqual(1);
  });

  it('leases a send that missed its slot again at once, without a claim or waiting for the next poll', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, metrics, claims } = setup();
    const tenantId = await addNumber('1001', 80);
    await enqueue(tenantId, '1001', 1);
    dispatcher.start();
    await timers.runFor(5);
    const claimsBeforeTheMiss = claims();
    // The process stalls past the slot (30 ms away) and its tolerance: the send goes back to the queue.
    await timers.stall(100);
    expect(metrics.count('outbound_messages_total', { status: 'slot_missed' })).toBe(1);
    await timers.runFor(100);
    const [sent] = sendTimes('1001');
    // A new slot a lead after the miss; the next poll is only due at 500 ms.
    expect(sent!.getTime() - t0.getTime()).toBeLessThan(
      105 + 2 * defaultOutboxDispatcherOptions.prepareLeadMs,
    );
    expect(claims()).toBe(claimsBeforeTheMiss);
    await stop();
  });

  it('leases the sends that missed their slots in one turn together', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, leaseSizes } = setup();
    const tenantId = await addNumber('1001', 80);
    await enqueue(tenantId, '1001', 6);
    dispatcher.start();
    await timers.runFor(5);
    // Every slot of the claim passes during the stall: all six miss at once.
    await timers.stall(400);
    await timers.runFor(1000);
    expect(sendTimes('1001')).toHaveLength(6);
    expect(leaseSizes).toEqual([6]);
    await stop();
  });

  it('has one lease of missed sends under way at a time; what misses meanwhile goes in the next', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, leaseSizes, database } = setup();
    const tenantId = await addNumber('1001', 80);
    await enqueue(tenantId, '1001', 12);
    const leaseCalls = heldUntilReleased(database.outboxQueue.lease.bind(database.outboxQueue));
    database.outboxQueue.lease = leaseCalls.call;
    dispatcher.start();
    await timers.runFor(5);
    // Two stalls, each past some slots: the second's misses come while the first's lease is held.
    await timers.stall(60);
    await timers.runFor(1);
    await timers.stall(60);
    await timers.runFor(1);
    expect(leaseSizes).toHaveLength(1);
    for (let round = 0; round < 50 && sendTimes('1001').length < 12; round += 1) {
      leaseCalls.releaseAll();
      await timers.runFor(50);
    }
    expect(sendTimes('1001')).toHaveLength(12);
    expect(leaseCalls.most()).toBe(1);
    expect(leaseSizes.length).toBeGreaterThanOrEqual(2);
    await stop();
  });

  it("serves every number at its own rate: one number's backlog does not hold another's message", async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes } = setup();
    const busy = await addNumber('1001', 20);
    const quiet = await addNumber('2002', 80);
    await enqueue(busy, '1001', 200);
    dispatcher.start();
    await timers.runFor(2000);
    await enqueue(quiet, '2002', 1, 10);
    dispatcher.notify();
    await timers.runFor(defaultOutboxDispatcherOptions.prepareLeadMs + 50);
    expect(sendTimes('2002')).toHaveLength(1);
    await stop();
    expect(maxInAnySecond(sendTimes('1001'))).toBeLessThanOrEqual(20);
  });

  it('has the lease of each claimed send kept until its outcome is recorded', async () => {
    const leases = new RecordingLeases();
    const { held } = leases;
    const heldAtSend: number[] = [];
    const { dispatcher, timers, addNumber, enqueue, gateway, outboxStatus, stop } = setup(
      {},
      defaultSendPolicy,
      leases,
    );
    const tenantId = await addNumber('1001', 2);
    await enqueue(tenantId, '1001', 2);
    const send = gateway.send.bind(gateway);
    gateway.send = (request) => {
      heldAtSend.push(held.size);
      return send(request);
    };
    dispatcher.start();
    await timers.runFor(3000);
    await stop();
    expect(outboxStatus()).toEqual(['sent', 'sent']);
    // Each send is held while it goes, and the one behind it while it waits for its slot.
    expect(heldAtSend).toEqual([2, 1]);
    expect([...held]).toEqual([]);
  });

  it('keeps no more sends in flight than allowed', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, gateway } = setup({ maxInFlight: 3 });
    const tenantId = await addNumber('1001', 100);
    await enqueue(tenantId, '1001', 20);
    const sends = heldUntilReleased(gateway.send.bind(gateway));
    gateway.send = sends.call;
    dispatcher.start();
    await timers.runFor(500);
    expect(sends.waiting()).toBe(3);
    // Sends kept waiting for room past their slots go back to the queue and come again.
    for (let round = 0; round < 100 && gateway.sentAt.length < 20; round += 1) {
      sends.releaseAll();
      await timers.runFor(100);
    }
    await stop();
    expect(gateway.sentAt).toHaveLength(20);
    expect(sends.most()).toBe(3);
  });

  it('backs off while idle and wakes at once when poked', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, claims, clock } = setup({
      minIdleMs: 25,
      maxIdleMs: 1000,
    });
    const tenantId = await addNumber('1001', 80);
    dispatcher.start();
    await timers.runFor(10_000);
    // 25, 50, 100, 200, 400, 800 ms, then once a second.
    expect(claims()).toBeGreaterThanOrEqual(10);
    expect(claims()).toBeLessThanOrEqual(17);
    await enqueue(tenantId, '1001', 1);
    const pokedAt = clock.now().getTime();
    dispatcher.notify();
    await timers.runFor(defaultOutboxDispatcherOptions.prepareLeadMs + 5);
    // Its slot is a lead ahead of the claim, so its token is read before it.
    expect(sendTimes('1001').map((time) => time.getTime() - pokedAt)).toEqual([
      defaultOutboxDispatcherOptions.prepareLeadMs,
    ]);
    await stop();
  });

  it('claims at most once per minClaimSpacingMs while replies keep arriving, and every reply still goes', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, claims } = setup({
      minClaimSpacingMs: 20,
      minIdleMs: 1000,
      maxIdleMs: 1000,
    });
    const tenantId = await addNumber('1001', 80);
    dispatcher.start();
    await timers.runFor(10);
    const claimsBefore = claims();
    // A reply queued every 2 ms for 200 ms, each followed by a poke, as the inbox worker does.
    for (let reply = 0; reply < 100; reply += 1) {
      await enqueue(tenantId, '1001', 1);
      dispatcher.notify();
      await timers.runFor(2);
    }
    await timers.runFor(3000);
    expect(claims() - claimsBefore).toBeGreaterThanOrEqual(200 / 20 - 1);
    expect(claims() - claimsBefore).toBeLessThanOrEqual(200 / 20 + 4);
    expect(sendTimes('1001')).toHaveLength(100);
    await stop();
  });

  it('logs storage errors and carries on once the store is back', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, database, logger } = setup();
    const tenantId = await addNumber('1001', 80);
    await enqueue(tenantId, '1001', 5);
    database.setUnavailable(true);
    dispatcher.start();
    await timers.runFor(3000);
    expect(sendTimes('1001')).toEqual([]);
    expect(logger.at('error').some((line) => line.message.startsWith('cannot claim outbox messages'))).toBe(
      true,
    );
    database.setUnavailable(false);
    await timers.runFor(2000);
    expect(sendTimes('1001')).toHaveLength(5);
    await stop();
  });

  it('stops trying a number whose token Graph rejected: one attempt, no storm, until the token is replaced', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, sendTimes, gateway, manageTenants, outboxStatus } =
      setup({ leaseMs: 2000 }, { ...defaultSendPolicy, tokenInvalidPauseMs: 1000 });
    const tenantId = await addNumber('1001', 20);
    await enqueue(tenantId, '1001', 40);
    gateway.inner.allow('1001' as PhoneNumberId, 'EAAG-rotated-by-meta');
    dispatcher.start();
    await timers.runFor(10_000);
    expect(sendTimes('1001')).toHaveLength(1);
    await expectOk(manageTenants.rotateToken('1001', 'EAAG-rotated-by-meta'));
    await timers.runFor(10_000);
    await stop();
    expect(outboxStatus().every((status) => status === 'sent')).toBe(true);
    expect(gateway.inner.accepted).toHaveLength(40);
  });

  it('stops claiming on stop(), sends what it had claimed and waits for every send to be recorded', async () => {
    const { dispatcher, timers, addNumber, enqueue, sendTimes, claims, outboxStatus, database } = setup();
    const tenantId = await addNumber('1001', 10);
    await enqueue(tenantId, '1001', 100);
    dispatcher.start();
    await timers.runFor(1200);
    let stopped = false;
    const stopping = dispatcher.stop().then(() => {
      stopped = true;
    });
    const claimsAtStop = claims();
    await timers.runFor(2000);
    await stopping;
    expect(stopped).toBe(true);
    expect(claims()).toBe(claimsAtStop);
    const sent = sendTimes('1001').length;
    expect(outboxStatus().filter((status) => status === 'sent')).toHaveLength(sent);
    // Nothing is leased to this worker any more: every claimed message was sent and recorded.
    expect(
      database.outboxMessages().filter((row) => row.status === 'pending' && row.lease !== undefined),
    ).toEqual([]);
    await timers.runFor(5000);
    expect(sendTimes('1001')).toHaveLength(sent);
  });

  it('sends replies leased as they were queued at their slots, with no lease or claim of its own, and hands back those leased once it stopped', async () => {
    const { stop, dispatcher, timers, addNumber, sendTimes, clock, database } = setup();
    const tenantId = await addNumber('1001', 10);
    const leases: (readonly string[])[] = [];
    const lease = database.outboxQueue.lease.bind(database.outboxQueue);
    database.outboxQueue.lease = (request) => {
      leases.push(request.ids);
      return lease(request);
    };
    /** Queues replies and leases them in one unit of work on the dispatcher's terms, as ProcessInbox does. */
    const queueLeased = (count: number, terms = dispatcher.sendSlotTerms()) => {
      if (terms === undefined) throw new Error('no send slot terms');
      const entries = Array.from({ length: count }, () =>
        textOutboxEntry('1001' as PhoneNumberId, { at: clock.now() }),
      );
      const ids = entries.map((entry) => entry.id);
      const now = new Date(clock.now().getTime() + terms.leadMs);
      return expectOk(
        database.unitOfWork.run(tenantId, (r) =>
          r.outbox.enqueue(entries).andThen(() => r.outbox.lease({ ...terms, now, ids })),
        ),
      ).then((leased) => ({ ids, leased }));
    };
    expect(dispatcher.sendSlotTerms()).toBeUndefined();
    dispatcher.start();
    await timers.runFor(10);
    const terms = dispatcher.sendSlotTerms();
    const { ids, leased } = await queueLeased(3);
    expect(leased).toHaveLength(3);
    dispatcher.take(ids, leased);
    await timers.runFor(1000);
    expect(sendTimes('1001')).toEqual(leased.map((send) => send.sendAt));
    expect(leases).toEqual([]);
    await stop();
    expect(dispatcher.sendSlotTerms()).toBeUndefined();

    // Leased on terms given before the stop, taken after it: due again at once, not left to its lease.
    const late = await queueLeased(1, terms);
    expect(late.leased).toHaveLength(1);
    dispatcher.take(late.ids, late.leased);
    await timers.runFor(0);
    const [row] = database.outboxMessages().filter((message) => message.id === late.ids[0]);
    expect(row).toMatchObject({ status: 'pending' });
    expect(row?.lease).toBeUndefined();
    const claimed = await expectOk(
      database.outboxQueue.claim({
        owner: 'worker-2',
        limit: 10,
        leaseMs: 30_000,
        now: clock.now(),
        horizonMs: 1000,
      }),
    );
    expect(claimed.map((send) => send.id)).toEqual(late.ids);
    expect(sendTimes('1001')).toHaveLength(3);
  });

  it('reports rate-limiter waits and the depth and age of the queue', async () => {
    const { stop, dispatcher, timers, addNumber, enqueue, metrics } = setup();
    const tenantId = await addNumber('1001', 10);
    await enqueue(tenantId, '1001', 30);
    dispatcher.start();
    await timers.runFor(6000);
    await stop();
    const waits = metrics.observations('rate_limiter_wait_seconds');
    expect(waits).toHaveLength(30);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1);
    expect(metrics.gauge('queue_depth', { queue: 'outbox' })).toBeGreaterThanOrEqual(0);
    expect(metrics.gauge('queue_oldest_age_seconds', { queue: 'outbox' })).toBeGreaterThanOrEqual(0);
  });
});
