#!/usr/bin/env node
// Quiet-spell benchmark (not a test): how long webhooks wait to be stored when they are the first after
// a quiet spell. pg's pool closes a connection idle for 10 s by default, and the server parses and plans
// the message path's functions again on the connection opened next; `serve` and `worker` warm their pool
// up and keep it open (`idleTimeoutMs: 0`). Each round opens a fresh database with a pool of each kind,
// warms it up, stores a burst of webhook items (one per store, all at once, as concurrent webhooks do),
// waits `--idle` seconds and stores another burst.
//
//   node packages/bench/dist/quiet-spell.js [--rounds 3] [--burst 12] [--idle 12]
//     [--database-server postgres://…] [--json]
//
// SPEC §6 sets no target for this; it is the cold start of "Cold start, and stalls under light load".

import { parseArgs } from 'node:util';
import { createPostgresStorage, type PostgresStorage } from '@prestabot/adapters-postgres';
import { benchmarkServerUrl, createTestDatabase } from '@prestabot/adapters-postgres/testing';
import { percentile, seedTenant, textInboxEntry } from '@prestabot/application/testing';
import { defined, type PhoneNumberId } from '@prestabot/domain';
import { commandLine } from './command-line.ts';

const usage = 'usage: quiet-spell [--rounds 3] [--burst 12] [--idle 12] [--database-server URL] [--json]';

const { badInput, read, wholeNumber } = commandLine('quiet-spell', usage);
const options = read(
  () =>
    parseArgs({
      options: {
        rounds: { type: 'string', default: '3' },
        burst: { type: 'string', default: '12' },
        idle: { type: 'string', default: '12' },
        'database-server': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values,
);
const rounds = wholeNumber('--rounds', options.rounds, 1, 20);
const burstSize = wholeNumber('--burst', options.burst, 1, 24);
const idleSeconds = wholeNumber('--idle', options.idle, 11, 600);
const serverUrl = benchmarkServerUrl(options['database-server']).match((url) => url, badInput);

/** The pools compared: pg's default idle timeout, and the one `serve` and `worker` use. */
const pools = [
  { name: "pg's default (idle 10 s)", idleTimeoutMs: undefined },
  { name: 'kept open (idleTimeoutMs 0)', idleTimeoutMs: 0 },
] as const;

type Burst = { readonly p50Ms: number; readonly maxMs: number };

/** `burstSize` stores at once, each of one webhook item from its own sender. */
const burst = async (storage: PostgresStorage, phoneNumberId: PhoneNumberId): Promise<Burst> => {
  const durations = await Promise.all(
    Array.from({ length: burstSize }, async () => {
      const started = performance.now();
      const stored = await storage.inboxQueue.store({
        entries: [
          textInboxEntry(phoneNumberId, { waId: `569${crypto.randomUUID().replace(/\D/g, '').slice(0, 8)}` }),
        ],
        now: new Date(),
        followUps: { origins: [], statuses: [] },
      });
      if (stored.isErr()) throw new Error(`cannot store: ${stored.error.message}`);
      return performance.now() - started;
    }),
  );
  const sorted = Float64Array.from(durations).sort();
  return { p50Ms: percentile(sorted, 50), maxMs: percentile(sorted, 100) };
};

const measureRound = async (idleTimeoutMs: number | undefined) => {
  const database = await createTestDatabase(serverUrl);
  const opened = await createPostgresStorage({
    databaseUrl: database.url,
    poolSize: burstSize,
    ...defined({ idleTimeoutMs }),
  });
  if (opened.isErr()) throw new Error(`cannot open the database: ${opened.error.message}`);
  const storage = opened.value;
  try {
    const migrated = await storage.migrate();
    if (migrated.isErr()) throw new Error(`cannot migrate: ${migrated.error.message}`);
    const warmed = await storage.warmUp();
    if (warmed.isErr()) throw new Error(`cannot warm up: ${warmed.error.message}`);
    const { number } = await seedTenant(storage);
    const warm = await burst(storage, number.phoneNumberId);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    return { warm, afterIdle: await burst(storage, number.phoneNumberId) };
  } finally {
    await storage.close();
    await database.drop();
  }
};

const round = (value: number) => Math.round(value * 10) / 10;

let exitCode = 0;
try {
  const rows: { pool: string; round: number; warm: Burst; afterIdle: Burst }[] = [];
  for (let index = 1; index <= rounds; index += 1)
    for (const pool of pools) {
      const measured = await measureRound(pool.idleTimeoutMs);
      rows.push({ pool: pool.name, round: index, ...measured });
      if (!options.json) process.stderr.write(`round ${index}, ${pool.name}: done\n`);
    }
  if (options.json)
    process.stdout.write(`${JSON.stringify({ benchmark: 'quiet-spell', burstSize, idleSeconds, rows })}\n`);
  else {
    process.stdout.write(
      `${burstSize} webhook items stored at once, before and after ${idleSeconds} s idle (ms per store)\n` +
        'pool                          round  warm p50 / max  after idle p50 / max\n',
    );
    for (const row of rows)
      process.stdout.write(
        `${row.pool.padEnd(30)}${String(row.round).padStart(5)}  ${`${round(row.warm.p50Ms)} / ${round(row.warm.maxMs)}`.padStart(14)}  ${`${round(row.afterIdle.p50Ms)} / ${round(row.afterIdle.maxMs)}`.padStart(20)}\n`,
      );
  }
} catch (error) {
  process.stderr.write(`quiet-spell: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
}
process.exit(exitCode);
