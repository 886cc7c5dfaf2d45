#!/usr/bin/env node
// Tenant resolution benchmark (not a test): how the cost of finding a webhook's tenant by its
// `phone_number_id` changes as the deployment grows from a few numbers to 100,000. Every lookup goes to
// PostgreSQL (`prestabot.find_number_route`, no cache), as the first webhook of each number does; the
// deployed host puts a cache in front. The database is a fresh one on the server, dropped at the end.
//
//   node packages/bench/dist/tenant-resolution.js [--sizes 10,1000,100000]
//     [--lookups 5000] [--concurrency 8] [--database-server postgres://…] [--json]
//
// SPEC §6 target: the cost is flat from 10 to 100,000 numbers.

import { parseArgs } from 'node:util';
import { benchmarkServerUrl, openTestStorage, type TestStorage } from '@prestabot/adapters-postgres/testing';
import { percentile } from '@prestabot/application/testing';
import { defaultTenantSettings, type PhoneNumberId } from '@prestabot/domain';
import { commandLine } from './command-line.ts';

const usage =
  'usage: tenant-resolution [--sizes 10,1000,100000] [--lookups 5000] [--concurrency 8] [--database-server URL] [--json]';

const { badInput, read, wholeNumber, wholeNumbers } = commandLine('tenant-resolution', usage);
const options = read(
  () =>
    parseArgs({
      options: {
        sizes: { type: 'string', default: '10,1000,100000' },
        lookups: { type: 'string', default: '5000' },
        concurrency: { type: 'string', default: '8' },
        'database-server': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values,
);

const sizes = wholeNumbers('--sizes', options.sizes, 1, 1_000_000);
const lookups = wholeNumber('--lookups', options.lookups, 100, 1_000_000);
const concurrency = wholeNumber('--concurrency', options.concurrency, 1, 256);
const serverUrl = benchmarkServerUrl(options['database-server']).match((url) => url, badInput);

const say = (line: string) => {
  if (!options.json) process.stderr.write(`${line}\n`);
};

/** Number `index`'s id: distinct, and spread over the key space as Meta's are. */
const phoneNumberIdOf = (index: number) => String(100_000_000_000_000 + index * 7919);

/** Adds tenants (one number each) until there are `size`, in batches of one statement each. */
const growTo = async (opened: TestStorage, from: number, size: number): Promise<void> => {
  const batch = 10_000;
  for (let first = from; first < size; first += batch) {
    const last = Math.min(size, first + batch) - 1;
    // As the server URL's user (a superuser, past row-level security); tenant i's id is derived from i.
    for (const [statement, params] of [
      [
        `INSERT INTO prestabot.tenants (id, name, timezone, locale, status, settings)
         SELECT md5('bench-tenant-' || i)::uuid, 'Bench tenant ' || i, 'America/Santiago', 'es-CL', 'active', $1::jsonb
         FROM generate_series(${first}, ${last}) AS i`,
        [JSON.stringify(defaultTenantSettings)],
      ],
      [
        `INSERT INTO prestabot.whatsapp_numbers (tenant_id, phone_number_id, waba_id, token_state)
         SELECT md5('bench-tenant-' || i)::uuid, (100000000000000 + i::bigint * 7919)::text, '102290129340398', 'missing'
         FROM generate_series(${first}, ${last}) AS i`,
        [],
      ],
      ['ANALYZE prestabot.tenants, prestabot.whatsapp_numbers', []],
    ] as const) {
      const done = await opened.driver.query(statement, params);
      if (done.isErr()) throw new Error(`cannot add tenants: ${done.error.message}`);
    }
  }
};

type Measured = { readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number };

/** `lookups` lookups of random known numbers, `concurrency` at a time; each must find its tenant. */
const measure = async (opened: TestStorage, size: number): Promise<Measured> => {
  const durations = new Float64Array(lookups);
  let next = 0;
  const lookUpOne = async (): Promise<void> => {
    while (next < lookups) {
      const index = next;
      next += 1;
      const phoneNumberId = phoneNumberIdOf(Math.floor(Math.random() * size)) as PhoneNumberId;
      const started = performance.now();
      const route = await opened.storage.directory.findNumber(phoneNumberId);
      durations[index] = performance.now() - started;
      if (route.isErr()) throw new Error(`lookup failed: ${route.error.message}`);
      if (route.value?.number.phoneNumberId !== phoneNumberId)
        throw new Error(`number ${phoneNumberId} was not found among ${size}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lookUpOne));
  const seconds = (performance.now() - started) / 1000;
  const sorted = durations.sort();
  return { perSecond: lookups / seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
};

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

const opened = await openTestStorage(serverUrl, { poolSize: concurrency });
let exitCode = 0;
try {
  const rows: (Measured & { readonly numbers: number })[] = [];
  let present = 0;
  for (const size of sizes) {
    await growTo(opened, present, size);
    present = size;
    await measure(opened, size); // warm-up: plans cached, pool connected
    const measured = await measure(opened, size);
    rows.push({ numbers: size, ...measured });
    say(`${size} numbers: ${Math.round(measured.perSecond)} lookups/s`);
  }
  const baseline = rows[0]!;
  const result = {
    benchmark: 'tenant-resolution',
    lookups,
    concurrency,
    rows: rows.map((row) => ({
      numbers: row.numbers,
      lookupsPerSecond: Math.round(row.perSecond),
      p50Ms: round(row.p50Ms),
      p99Ms: round(row.p99Ms),
      throughputVsSmallest: round(row.perSecond / baseline.perSecond, 3),
    })),
  };
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write('numbers    lookups/s  p50 ms  p99 ms  vs smallest\n');
    for (const row of result.rows)
      process.stdout.write(
        `${String(row.numbers).padStart(7)}  ${String(row.lookupsPerSecond).padStart(11)}  ${row.p50Ms.toFixed(2).padStart(6)}  ${row.p99Ms.toFixed(2).padStart(6)}  ${row.throughputVsSmallest.toFixed(3).padStart(11)}\n`,
      );
  }
} catch (error) {
  process.stderr.write(`tenant-resolution: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await opened.release();
}
process.exit(exitCode);
