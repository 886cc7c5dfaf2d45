import { GraphClient, parseGraphApiConfig, UndiciGraphGateway } from '@prestabot/adapters-meta';
import {
  type Clock,
  defaultSendPolicy,
  ManageTenants,
  type MessagingGateway,
  type NewOutboxEntry,
  outcomeGraceMs,
  type SendPolicy,
} from '@prestabot/application';
import {
  expectOk,
  FakeSecretCipher,
  InMemoryDatabase,
  maxInAnySecond,
  RecordingLogger,
  RecordingMetrics,
  SequentialIds,
} from '@prestabot/application/testing';
import type { E164, PhoneNumberId, TenantId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { type FakeGraphOptions, startFakeGraph } from '@prestabot/fake-graph';
import { defaultOutboxDispatcherOptions, type OutboxDispatcherOptions } from '@prestabot/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { inMemoryOutboundWorker } from './in-memory-outbound-worker.ts';

// The whole outbound path with real time and real HTTP: in-memory storage, the outbox dispatcher, the
// rate guard, the undici gateway and the fake Graph API enforcing Meta's limits.

type NumberSpec = { readonly phoneNumberId: string; readonly ratePerSecond: number };

const clock: Clock = { now: () => new Date() };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds, failing after `timeoutMs`. */
const eventually = async (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
};

const startWorld = async (
  numbers: readonly NumberSpec[],
  options: {
    readonly fake?: FakeGraphOptions;
    readonly policy?: SendPolicy;
    readonly dispatcher?: Partial<OutboxDispatcherOptions>;
  } = {},
) => {
  const tokenOf = (phoneNumberId: string) => `EAAG-${phoneNumberId}`;
  const fake = await startFakeGraph({
    numbers: numbers.map((number) => ({ ...number, accessToken: tokenOf(number.phoneNumberId) })),
    ...options.fake,
  });
  const database = new InMemoryDatabase();
  const cipher = new FakeSecretCipher();
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const manageTenants = new ManageTenants({ ...database, cipher, ids: new SequentialIds(7) });
  const tenants = new Map<string, TenantId>();
  for (const number of numbers) {
    const { tenantId } = await expectOk(
      manageTenants.addTenant({
        name: `Tenant of ${number.phoneNumberId}`,
        phoneNumberId: number.phoneNumberId,
        accessToken: tokenOf(number.phoneNumberId),
        wabaId: '102290129340398',
        ratePerSecond: number.ratePerSecond,
      }),
    );
    tenants.set(number.phoneNumberId, tenantId);
  }
  const graph = new UndiciGraphGateway(
    new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap(), { requestTimeoutMs: 3000 }),
  );
  /** When each send left this process, after the guard: what the rate must hold for. */
  const wireTimes = new Map<string, Date[]>();
  const wire: MessagingGateway = {
    send: (request) => {
      wireTimes.set(request.phoneNumberId, [...(wireTimes.get(request.phoneNumberId) ?? []), clock.now()]);
      return graph.send(request);
    },
  };
  const dispatcher = inMemoryOutboundWorker({
    database,
    cipher,
    gateway: wire,
    clock,
    logger,
    metrics,
    options: { ...defaultOutboxDispatcherOptions, owner: 'e2e-worker', ...options.dispatcher },
    ...defined({ policy: options.policy }),
  });
  let recipients = 0;
  const enqueue = async (
    phoneNumberId: string,
    count: number,
    extra: { readonly to?: E164; readonly priority?: number } = {},
  ): Promise<readonly string[]> => {
    const now = clock.now();
    const entries = Array.from({ length: count }, (): NewOutboxEntry => {
      recipients += 1;
      const id = crypto.randomUUID();
      return {
        id,
        phoneNumberId: phoneNumberId as PhoneNumberId,
        recipient: { phone: extra.to ?? (`+569${String(10_000_000 + recipients)}` as E164) },
        message: { type: 'text', body: `mensaje ${recipients}`, previewUrl: false },
        origin: { kind: 'notification' },
        idempotencyKey: `e2e:${id}`,
        priority: extra.priority ?? 0,
        notBefore: now,
        createdAt: now,
      };
    });
    await expectOk(database.unitOfWork.run(tenants.get(phoneNumberId)!, (r) => r.outbox.enqueue(entries)));
    return entries.map((entry) => entry.id);
  };
  const outboxRows = () => database.outboxMessages();
  /** Outbox ids Graph accepted for the number, by the callback data every send carries. */
  const acceptedIds = (phoneNumberId: string) =>
    fake.accepted(phoneNumberId).map((accepted) => accepted.callbackData);
  const world = {
    fake,
    database,
    dispatcher,
    manageTenants,
    logger,
    enqueue,
    outboxRows,
    acceptedIds,
    wireTimes: (phoneNumberId: string) => wireTimes.get(phoneNumberId) ?? [],
    close: async () => {
      await dispatcher.stop();
      await graph.close();
      await fake.close();
    },
  };
  worlds.push(world);
  return world;
};

const worlds: { close: () => Promise<void> }[] = [];

afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

describe('outbound: dispatcher → guard → undici gateway → fake Graph', () => {
  it('keeps every number within its rate in every second of a backlog, close to the rate', async () => {
    const slow = { phoneNumberId: '100000000000001', ratePerSecond: 10 };
    const fast = { phoneNumberId: '100000000000002', ratePerSecond: 40 };
    const world = await startWorld([slow, fast]);
    await world.enqueue(slow.phoneNumberId, 30);
    await world.enqueue(fast.phoneNumberId, 120);
    world.dispatcher.start();
    await eventually(
      () => world.outboxRows().every((row) => row.status === 'sent'),
      10_000,
      'every message is sent',
    );
    for (const number of [slow, fast]) {
      const times = world.wireTimes(number.phoneNumberId);
      expect(maxInAnySecond(times)).toBeLessThanOrEqual(number.ratePerSecond);
      const spanSeconds = (times.at(-1)!.getTime() - times[0]!.getTime()) / 1000;
      expect((times.length - 1) / spanSeconds).toBeGreaterThanOrEqual(number.ratePerSecond * 0.9);
      // Each message reached Graph once.
      const accepted = world.acceptedIds(number.phoneNumberId);
      expect(new Set(accepted).size).toBe(accepted.length);
    }
  });

  it("sends another tenant's reply within a second while one tenant's backlog of 2,000 is going out", async () => {
    const busy = { phoneNumberId: '100000000000011', ratePerSecond: 80 };
    const quiet = { phoneNumberId: '100000000000012', ratePerSecond: 80 };
    const world = await startWorld([busy, quiet]);
    await world.enqueue(busy.phoneNumberId, 2000);
    world.dispatcher.start();
    await sleep(1500);
    // Queued by another process: this worker is not told, it finds the reply on its own.
    const queuedAt = Date.now();
    const [reply] = await world.enqueue(quiet.phoneNumberId, 1, { priority: 10 });
    await eventually(() => world.acceptedIds(quiet.phoneNumberId).includes(reply), 1000, 'the reply is sent');
    const repliedAt = world.fake.accepted(quiet.phoneNumberId)[0]!.receivedAt;
    expect(repliedAt - queuedAt).toBeLessThan(1000);
    expect(world.fake.stats(busy.phoneNumberId).accepted).toBeGreaterThan(100);
  });

  it("holds only the recipient Meta's pair limit hit (131056); everyone else is served at once", async () => {
    const number = { phoneNumberId: '100000000000021', ratePerSecond: 20 };
    const ana = '+56911112222' as E164;
    const world = await startWorld([number], { fake: { pairLimit: { burst: 2, refillMs: 60_000 } } });
    const toAna = [
      ...(await world.enqueue(number.phoneNumberId, 1, { to: ana })),
      ...(await world.enqueue(number.phoneNumberId, 1, { to: ana })),
      ...(await world.enqueue(number.phoneNumberId, 1, { to: ana })),
      ...(await world.enqueue(number.phoneNumberId, 1, { to: ana })),
    ];
    const toOthers = await world.enqueue(number.phoneNumberId, 10);
    world.dispatcher.start();
    await eventually(
      () => toOthers.every((id) => world.acceptedIds(number.phoneNumberId).includes(id)),
      3000,
      'everyone else got their message',
    );
    await eventually(
      () => world.fake.stats(number.phoneNumberId).errors['131056'] === 1,
      3000,
      "Ana's third message met the pair limit",
    );
    await sleep(500);
    expect(world.acceptedIds(number.phoneNumberId).filter((id) => toAna.includes(id!))).toHaveLength(2);
    // One message at a time per person: the one that met the limit waits with her last, untried one.
    const anaPending = world
      .outboxRows()
      .filter((row) => toAna.includes(row.id) && row.status === 'pending')
      .map((row) => ({ attempts: row.attempts, code: row.lastFailure?.code }))
      .sort((a, b) => b.attempts - a.attempts);
    expect(anaPending).toEqual([
      { attempts: 1, code: 131056 },
      { attempts: 0, code: undefined },
    ]);
    // Ana's hold lasts 6 s: no more attempts to her meanwhile.
    expect(world.fake.stats(number.phoneNumberId).errors['131056']).toBe(1);
  });

  it('retries server errors and dropped connections until every message is sent, each once', async () => {
    const number = { phoneNumberId: '100000000000031', ratePerSecond: 50 };
    const world = await startWorld([number], {
      policy: { ...defaultSendPolicy, maxAttempts: 30, backoffBaseMs: 20, backoffCapMs: 300 },
    });
    world.fake.setFaults({ serverErrorRate: 0.3, dropRate: 0.1 }, number.phoneNumberId);
    const ids = await world.enqueue(number.phoneNumberId, 40);
    world.dispatcher.start();
    // A dropped connection leaves the outcome unknown, so that send is tried again only after the outcome
    // grace (5 s). A send is dropped before it succeeds with odds 0.1 / 0.73, so one of the 40 dropped
    // three times (about one run in ten) took over the 15 s this allowed. Six graces allow five drops; one
    // run in about 4,000 has a send dropped six times.
    await eventually(
      () => world.outboxRows().every((row) => row.status === 'sent'),
      6 * outcomeGraceMs,
      'every message is sent',
    );
    const stats = world.fake.stats(number.phoneNumberId);
    expect(Object.keys(stats.errors).every((code) => ['131000', '1', '2'].includes(code))).toBe(true);
    expect(
      Object.values(stats.errors).reduce((total, count) => total + count, 0) + stats.dropped,
    ).toBeGreaterThan(0);
    expect(world.acceptedIds(number.phoneNumberId).sort()).toEqual([...ids].sort());
  });

  it('stops sending for a number whose token expired (190) after one attempt, and resumes once it is rotated', async () => {
    const number = { phoneNumberId: '100000000000041', ratePerSecond: 20 };
    const world = await startWorld([number], {
      policy: { ...defaultSendPolicy, tokenInvalidPauseMs: 500 },
      dispatcher: { leaseMs: 1500 },
    });
    world.fake.expireToken(number.phoneNumberId);
    const ids = await world.enqueue(number.phoneNumberId, 40);
    world.dispatcher.start();
    await sleep(2500);
    const attempts = world.fake.stats(number.phoneNumberId).errors['190'] ?? 0;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);
    const route = await expectOk(world.database.directory.findNumber(number.phoneNumberId as PhoneNumberId));
    expect(route?.number.tokenStatus).toMatchObject({ kind: 'invalid', errorCode: 190 });
    expect(world.logger.at('error').some((line) => line.message.includes('rejected the access token'))).toBe(
      true,
    );
    world.fake.rotateToken(number.phoneNumberId, 'EAAG-rotated');
    await expectOk(world.manageTenants.rotateToken(number.phoneNumberId, 'EAAG-rotated'));
    // The sends parked when the token was refused wait out their lease and the grace after it.
    await eventually(
      () => world.outboxRows().every((row) => row.status === 'sent'),
      10_000 + outcomeGraceMs,
      'every message is sent',
    );
    expect(world.fake.stats(number.phoneNumberId).errors['190']).toBe(attempts);
    expect(world.acceptedIds(number.phoneNumberId).sort()).toEqual([...ids].sort());
  });

  it('stops gracefully: what Graph accepted is recorded as sent, nothing stays leased, nothing leaves afterwards', async () => {
    const number = { phoneNumberId: '100000000000051', ratePerSecond: 50 };
    const world = await startWorld([number]);
    await world.enqueue(number.phoneNumberId, 300);
    world.dispatcher.start();
    await sleep(1200);
    await world.dispatcher.stop();
    const accepted = new Set(world.acceptedIds(number.phoneNumberId));
    const sent = new Set(
      world
        .outboxRows()
        .filter((row) => row.status === 'sent')
        .map((row) => row.id),
    );
    expect(accepted.size).toBeGreaterThan(0);
    expect(sent).toEqual(accepted);
    expect(world.outboxRows().filter((row) => row.status === 'pending' && row.lease !== undefined)).toEqual(
      [],
    );
    await sleep(500);
    expect(world.fake.stats(number.phoneNumberId).accepted).toBe(accepted.size);
  });
});
