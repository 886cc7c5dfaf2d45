#!/usr/bin/env node
// Backlog benchmark (not a test): how long storing a webhook's message takes while a backlog of
// unprocessed entries waits, as after an outage, when Meta redelivers everything at once. A message
// stored with a lease (as `serve` stores what it then processes) first looks for an earlier entry of its
// sender it must wait behind. For each backlog size, on a fresh database: that many entries of other
// senders are stored without a lease (left for a worker's claims), the table is analyzed as autovacuum
// would, one message is stored unmeasured (the plans made after the analysis), and `--stores` messages of
// new senders are stored one at a time, each with a lease. Those stay unprocessed too, so the backlog of
// a run grows by up to `--stores` while it is measured, the first run's included.
//
//   node packages/bench/dist/backlog-store.js [--backlogs 0,1000,5000] [--stores 300]
//     [--database-server postgres://…] [--json]
//
// SPEC §6 sets no target for this; the cost of a store should not grow with the backlog.

import { parseArgs } from 'node:util';
import { benchmarkServerUrl, openTestStorage } from '@prestabot/adapters-postgres/testing';
import { expectOk, percentile, seedTenant, textInboxEntry } from '@prestabot/application/testing';
import type { PhoneNumberId } from '@prestabot/domain';
import { commandLine } from './command-line.ts';

const usage = 'usage: backlog-store [--backlogs 0,1000,5000] [--stores 300] [--database-server URL] [--json]';

const { badInput, read, wholeNumber, wholeNumbers } = commandLine('backlog-store', usage);
const options = read(
  () =>
    parseArgs({
      options: {
        backlogs: { type: 'string', default: '0,1000,5000' },
        stores: { type: 'string', default: '300' },
        'database-server': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values,
);
const backlogs = wholeNumbers('--backlogs', options.backlogs, 0, 100_000);
const stores = wholeNumber('--stores', options.stores, 10, 10_000);
const serverUrl = benchmarkServerUrl(options['database-server']).match((url) => url, badInput);

const noFollowUps = { origins: [], statuses: [] };
const batchSize = 500;
let senders = 0;
/** A sender nobody used before in this run. */
const newSender = () => {
  senders += 1;
  return `569${String(senders).padStart(8, '0')}`;
};

type Row = { readonly backlog: number; readonly p50Ms: number; readonly p99Ms: number };

const measure = async (backlog: number): Promise<Row> => {
  // One connection: every store runs the plan its statements got on it.
  const { storage, driver, release } = await openTestStorage(serverUrl, { poolSize: 1 });
  try {
    const { number } = await seedTenant(storage);
    const message = (phoneNumberId: PhoneNumberId) => textInboxEntry(phoneNumberId, { waId: newSender() });
    for (let stored = 0; stored < backlog; stored += batchSize) {
      const entries = Array.from({ length: Math.min(batchSize, backlog - stored) }, () =>
        message(number.phoneNumberId),
      );
      await expectOk(storage.inboxQueue.store({ entries, now: new Date(), followUps: noFollowUps }));
    }
    await expectOk(driver.query('ANALYZE prestabot.inbox'));
    const storeLeased = () =>
      expectOk(
        storage.inboxQueue.store({
          entries: [message(number.phoneNumberId)],
          now: new Date(),
          followUps: noFollowUps,
          lease: { owner: 'backlog-store', leaseMs: 60_000 },
        }),
      );
    await storeLeased();
    const durations = new Float64Array(stores);
    for (let index = 0; index < stores; index += 1) {
      const started = performance.now();
      await storeLeased();
      durations[index] = performance.now() - started;
    }
    durations.sort();
    return { backlog, p50Ms: percentile(durations, 50), p99Ms: percentile(durations, 99) };
  } finally {
    await release();
  }
};

const round = (value: number) => Math.round(value * 100) / 100;

let exitCode = 0;
try {
  const rows: Row[] = [];
  for (const backlog of backlogs) {
    rows.push(await measure(backlog));
    if (!options.json) process.stderr.write(`backlog ${backlog}: done\n`);
  }
  const first = rows[0];
  const last = rows.at(-1);
  const growth = first === undefined || last === undefined ? undefined : last.p50Ms / first.p50Ms;
  if (options.json)
    process.stdout.write(`${JSON.stringify({ benchmark: 'backlog-store', stores, rows, growth })}\n`);
  else {
    process.stdout.write(
      `${stores} messages stored one at a time with a lease, behind a backlog of unprocessed entries\n` +
        'backlog  p50 ms  p99 ms\n',
    );
    for (const row of rows)
      process.stdout.write(
        `${String(row.backlog).padStart(7)}  ${String(round(row.p50Ms)).padStart(6)}  ${String(round(row.p99Ms)).padStart(6)}\n`,
      );
    if (growth !== undefined)
      process.stdout.write(`p50 at ${last?.backlog} against ${first?.backlog}: ×${round(growth)}\n`);
  }
} catch (error) {
  process.stderr.write(`backlog-store: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
}
process.exit(exitCode);
