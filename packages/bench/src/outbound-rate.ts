#!/usr/bin/env node
// Outbound throughput benchmark (not a test): several numbers with a backlog each, sent through the
// in-memory storage, the outbox dispatcher, the undici gateway and the fake Graph API (in its own process,
// enforcing every number's throughput). Prints, per number, the allowed rate, the rate achieved over the
// steady window and the throttling errors Graph answered.
//
//   node packages/bench/dist/outbound-rate.js [--numbers 10] [--seconds 15] [--rate 80]

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GraphClient, parseGraphApiConfig, UndiciGraphGateway } from '@prestabot/adapters-meta';
import { type Clock, ManageTenants, type NewOutboxEntry } from '@prestabot/application';
import {
  FakeSecretCipher,
  InMemoryDatabase,
  maxInAnySecond,
  RecordingMetrics,
  SequentialIds,
} from '@prestabot/application/testing';
import type { E164, PhoneNumberId, TenantId } from '@prestabot/domain';
import type { NumberStats } from '@prestabot/fake-graph';
import { inMemoryOutboundWorker } from '@prestabot/http-contract';
import { defaultOutboxDispatcherOptions, JsonLogger } from '@prestabot/runtime';
import { request } from 'undici';

const { values } = parseArgs({
  options: {
    numbers: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '80' },
  },
});
const numberCount = Number(values.numbers);
const seconds = Number(values.seconds);
const baseRate = Number(values.rate);
for (const [option, value] of [
  ['numbers', numberCount],
  ['seconds', seconds],
  ['rate', baseRate],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`outbound-rate: --${option} must be a whole number of at least 1\n`);
    process.exit(2);
  }
}

/** Mostly the default rate, with a slow (coexistence, 20/s) and a fast (200/s) number in every five. */
const rateOf = (index: number): number => (index % 5 === 3 ? 20 : index % 5 === 4 ? 200 : baseRate);
/** Ramp-up excluded from the measure. */
const warmUpMs = 1000;
/**
 * Each number's backlog, in seconds of its rate, kept up by topping it up every second. The in-memory
 * store scans every pending row on each claim, synchronously, which a database's index does not: a backlog
 * of the whole run queued up front would measure that scan (tens of milliseconds of blocked event loop,
 * read as jitter by Graph's throughput window) instead of the dispatcher.
 */
const backlogSeconds = 3;

const numbers = Array.from({ length: numberCount }, (_, index) => ({
  phoneNumberId: `10${String(index + 1).padStart(13, '0')}`,
  accessToken: `EAAG-bench-token-${index + 1}`,
  ratePerSecond: rateOf(index),
}));

/** A number outside the measure, whose traffic opens the connections and warms both processes up. */
const warmUpNumber = {
  phoneNumberId: '199999999999999',
  accessToken: 'EAAG-bench-warm-up',
  ratePerSecond: 1000,
};

/** The fake runs in its own process, so its clock and event loop are not the sender's. */
const startFake = async (): Promise<{ readonly url: string; readonly child: ChildProcess }> => {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/fake-graph')));
  const child = spawn(
    process.execPath,
    [
      // A larger young generation: fewer collection pauses in the fake, whose pauses would read as arrival jitter.
      '--max-semi-space-size=64',
      cli,
      ...[...numbers, warmUpNumber].flatMap((number) => [
        '--number',
        `${number.phoneNumberId}:${number.accessToken}:${number.ratePerSecond}`,
      ]),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the fake Graph API exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
};

const getJson = async <T>(url: string): Promise<T> => {
  const response = await request(url);
  return (await response.body.json()) as T;
};

const fake = await startFake();
process.once('exit', () => fake.child.kill('SIGTERM'));
const clock: Clock = { now: () => new Date() };
const database = new InMemoryDatabase();
const cipher = new FakeSecretCipher('bench-key');
// As a worker runs in production: debug lines are dropped at once (kept, they would grow the heap for the
// whole run and slow the collector down); warnings and errors still show.
const logger = new JsonLogger('warn', (line) => process.stderr.write(`${line}\n`));
const metrics = new RecordingMetrics();
const manageTenants = new ManageTenants({ ...database, cipher, ids: new SequentialIds(1) });
const entryIds = new SequentialIds(2);
const tenantIds = new Map<string, TenantId>();
const queuedSoFar = new Map<string, number>();

/** Queues `seconds` worth of messages for the number, every one to a different person (no pair limit). */
const topUp = async (number: (typeof numbers)[number], seconds: number): Promise<void> => {
  const first = queuedSoFar.get(number.phoneNumberId) ?? 0;
  const count = number.ratePerSecond * seconds;
  queuedSoFar.set(number.phoneNumberId, first + count);
  const now = clock.now();
  const entries = Array.from({ length: count }, (_, offset): NewOutboxEntry => {
    const message = first + offset;
    return {
      id: entryIds.uuid(),
      phoneNumberId: number.phoneNumberId as PhoneNumberId,
      recipient: { phone: `+56${number.phoneNumberId.slice(-2)}${String(message).padStart(8, '0')}` as E164 },
      message: { type: 'text', body: `Recordatorio ${message}: tu préstamo vence mañana`, previewUrl: false },
      origin: { kind: 'notification' },
      idempotencyKey: `bench:${number.phoneNumberId}:${message}`,
      priority: 0,
      notBefore: now,
      createdAt: now,
    };
  });
  const enqueued = await database.unitOfWork.run(tenantIds.get(number.phoneNumberId)!, (repositories) =>
    repositories.outbox.enqueue(entries),
  );
  if (enqueued.isErr()) throw new Error(`cannot enqueue: ${enqueued.error.message}`);
};

for (const [index, number] of [...numbers, warmUpNumber].entries()) {
  const added = await manageTenants.addTenant({
    name: `Bench tenant ${index + 1}`,
    phoneNumberId: number.phoneNumberId,
    accessToken: number.accessToken,
    wabaId: '102290129340398',
    ratePerSecond: number.ratePerSecond,
  });
  if (added.isErr())
    throw new Error(`cannot add number ${number.phoneNumberId}: ${JSON.stringify(added.error)}`);
  tenantIds.set(number.phoneNumberId, added.value.tenantId as TenantId);
}

const gateway = new UndiciGraphGateway(
  new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap(), { connections: 64 }),
);

const dispatcher = inMemoryOutboundWorker({
  database,
  cipher,
  gateway,
  clock,
  logger,
  metrics,
  options: { ...defaultOutboxDispatcherOptions, owner: 'bench-worker', maxQueued: 5000, maxInFlight: 256 },
});

/**
 * Cold code and cold connections make the first second slower and more jittery than the rest. A worker
 * warms up once and then runs for days, so the measure starts after the warm-up number's backlog (about
 * a second of sends through the whole path: dispatcher, guard, gateway, fake) has gone out.
 */
const warmUp = async (): Promise<void> => {
  await topUp(warmUpNumber, 1);
  const stats = `${fake.url}/_fake/numbers/${warmUpNumber.phoneNumberId}/stats`;
  while ((await getJson<NumberStats>(stats)).accepted < warmUpNumber.ratePerSecond) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

dispatcher.start();
await warmUp();
const slotsMissedInWarmUp = metrics.count('outbound_messages_total', { status: 'slot_missed' });
for (const number of numbers) await topUp(number, backlogSeconds);
dispatcher.notify();
const topUps = setInterval(() => {
  for (const number of numbers) void topUp(number, 1);
}, 1000);
await new Promise((resolve) => setTimeout(resolve, warmUpMs + seconds * 1000 + 500));
clearInterval(topUps);
await dispatcher.stop();
await gateway.close();

type Row = {
  readonly phoneNumberId: string;
  readonly allowed: number;
  readonly achieved: number;
  readonly ratio: number;
  readonly maxInAnySecond: number;
  readonly throttled130429: number;
  readonly pairLimited131056: number;
};

const rows: Row[] = [];
for (const number of numbers) {
  const base = `${fake.url}/_fake/numbers/${number.phoneNumberId}`;
  const { messages } = await getJson<{ messages: { receivedAt: number }[] }>(`${base}/messages`);
  const stats = await getJson<NumberStats>(`${base}/stats`);
  const times = messages.map((message) => message.receivedAt);
  const windowStart = (times[0] ?? 0) + warmUpMs;
  const windowEnd = windowStart + seconds * 1000;
  const inWindow = times.filter((time) => time >= windowStart && time < windowEnd).length;
  const achieved = inWindow / seconds;
  rows.push({
    phoneNumberId: number.phoneNumberId,
    allowed: number.ratePerSecond,
    achieved: Math.round(achieved * 100) / 100,
    ratio: Math.round((achieved / number.ratePerSecond) * 1000) / 1000,
    maxInAnySecond: maxInAnySecond(times.map((time) => new Date(time))),
    throttled130429: stats.errors['130429'] ?? 0,
    pairLimited131056: stats.errors['131056'] ?? 0,
  });
}
fake.child.kill('SIGTERM');

const header = ['phone_number_id', 'allowed/s', 'achieved/s', 'ratio', 'max in 1 s', '130429', '131056'];
const lines = rows.map((row) => [
  row.phoneNumberId,
  String(row.allowed),
  row.achieved.toFixed(2),
  `${(row.ratio * 100).toFixed(1)} %`,
  String(row.maxInAnySecond),
  String(row.throttled130429),
  String(row.pairLimited131056),
]);
const widths = header.map((title, column) =>
  Math.max(title.length, ...lines.map((line) => line[column]!.length)),
);
const format = (cells: readonly string[]) =>
  cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
process.stdout.write(
  `${[format(header), format(widths.map((width) => '-'.repeat(width))), ...lines.map(format)].join('\n')}\n`,
);
const worst = Math.min(...rows.map((row) => row.ratio));
const throttled = rows.reduce((total, row) => total + row.throttled130429, 0);
process.stdout.write(
  `${JSON.stringify({
    benchmark: 'outbound-rate',
    numbers: numberCount,
    seconds,
    storage: 'in-memory',
    worstRatio: worst,
    throttled130429: throttled,
    // Slots a send could not keep (the process was busy past the tolerance): each is capacity lost.
    slotsMissed: metrics.count('outbound_messages_total', { status: 'slot_missed' }) - slotsMissedInWarmUp,
    pass: worst >= 0.95 && throttled === 0,
    rows,
  })}\n`,
);
