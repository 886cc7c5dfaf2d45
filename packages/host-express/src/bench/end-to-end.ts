#!/usr/bin/env node
// End-to-end throughput benchmark (not a test): inbound message to reply accepted by the fake Graph API.
//
// Process layout, as in production: this process plays Meta (it posts signed webhooks and measures), the
// fake Graph API runs in its own process, the real Node host (`prestabot serve`, plus `--workers N` extra
// `prestabot worker` processes) in its own, on a fresh database of a real PostgreSQL server, dropped at the
// end. Every webhook carries one text message ("hola") from a sender nobody else uses, so each reply the
// fake accepts names, by its recipient, the message it answers. The latency of a message runs from the
// moment its POST started to the moment the fake accepted the first reply to its sender.
//
//   node packages/host-express/dist/bench/end-to-end.js [--rate 2000] [--seconds 20] [--warm-up 5]
//     [--tenants 100] [--workers 0] [--http-only] [--concurrency 64] [--number-rate 80]
//     [--drain-timeout 60] [--database-server postgres://…] [--cpu-prof-dir DIR] [--json]
//     [--no-statuses] [--status-step 100] [--sweep 50,100,200] [--ack]
//
// The fake Graph API answers every accepted send with `sent`, `delivered` and `read` as signed webhooks
// (`--status-step` ms apart; `--no-statuses` for none), so one message is four webhooks, as in production.
// Each run prints, per message, PostgreSQL's transactions and WAL, the host's statements and round trips
// (its /metrics), host and PostgreSQL CPU, and the host's RSS over the window. `--sweep` runs each rate in
// turn and prints one row per rate and the highest one whose p99 ≤ 150 ms.
//
// SPEC §6 target: ≥ 2,000 messages/s across 100 tenants, p99 ≤ 150 ms.
//
// With --ack it measures the webhook acknowledgement instead (`serve --no-worker --ingest-only`: each
// webhook is verified and stored before its 200, and nothing is processed): the most webhooks a second
// the host acknowledges with `--concurrency` in flight, against a bare Express 5 server that only reads
// the body, in the same run; then --rate offered (default 1000/s) and the acknowledgement's p99. Then it
// starts `--workers` `prestabot worker` processes (default 1) and reports how fast they drain the
// backlog, as after an outage Meta redelivers. SPEC §6 target: ≥ 60 % of bare Express, p99 ≤ 25 ms at
// 1,000/s.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { signWebhookBody } from '@prestabot/adapters-meta';
import { createPostgresStorage, type PostgresStorage } from '@prestabot/adapters-postgres';
import {
  benchmarkServerUrl,
  createTestDatabase,
  type TestDatabase,
} from '@prestabot/adapters-postgres/testing';
import { createAesGcmSecretCipher } from '@prestabot/adapters-webcrypto';
import { ManageTenants } from '@prestabot/application';
import { percentile } from '@prestabot/application/testing';
import type { ResultAsync } from '@prestabot/domain';
import { freeLoopbackPort } from '@prestabot/fake-graph';
import { Pool, request } from 'undici';

// -- arguments ---------------------------------------------------------------------------------------

const usage =
  'usage: end-to-end [--rate 2000] [--seconds 20] [--warm-up 5] [--tenants 100] [--workers 0] [--http-only] ' +
  '[--concurrency 64] [--number-rate 80] [--drain-timeout 60] [--database-server URL] [--cpu-prof-dir DIR] [--json] [--ack] ' +
  '[--no-statuses] [--status-step 100] [--sweep 100,200,400]';

/** One line naming the bad value and the expected form; exit status 2. */
const badInput = (problem: string): never => {
  process.stderr.write(`end-to-end: ${problem}\n${usage}\n`);
  process.exit(2);
};

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        rate: { type: 'string' },
        seconds: { type: 'string', default: '20' },
        'warm-up': { type: 'string', default: '5' },
        tenants: { type: 'string', default: '100' },
        workers: { type: 'string' },
        'http-only': { type: 'boolean', default: false },
        concurrency: { type: 'string', default: '64' },
        'number-rate': { type: 'string', default: '80' },
        'drain-timeout': { type: 'string', default: '60' },
        'database-server': { type: 'string' },
        'cpu-prof-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        ack: { type: 'boolean', default: false },
        'no-statuses': { type: 'boolean', default: false },
        'status-step': { type: 'string', default: '100' },
        sweep: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return badInput(error instanceof Error ? error.message : String(error));
  }
})();

if (parsed.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const wholeNumber = (option: keyof typeof parsed, min: number, max: number, fallback?: string): number => {
  const raw = String(parsed[option] ?? fallback);
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max
    ? value
    : badInput(`--${option} ${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`);
};

const ackOnly = parsed.ack;
const rate = wholeNumber('rate', 1, 20_000, ackOnly ? '1000' : '2000');
const seconds = wholeNumber('seconds', 1, 3600);
const warmUpSeconds = wholeNumber('warm-up', 0, 600);
const tenantCount = wholeNumber('tenants', 1, 1000);
const workerCount = wholeNumber('workers', 0, 16, ackOnly ? '1' : '0');
const concurrency = wholeNumber('concurrency', 1, 4096);
const numberRate = wholeNumber('number-rate', 1, 1000);
const drainTimeoutMs = wholeNumber('drain-timeout', 1, 3600) * 1000;
const httpOnly = parsed['http-only'];
/** Meta's status webhooks (sent, delivered, read), one POST each, for every reply the fake accepts. */
const withStatuses = !parsed['no-statuses'] && !ackOnly;
const statusStepMs = wholeNumber('status-step', 1, 60_000);
/** With --sweep, one run per rate (this program again, in JSON), and the highest rate that meets p99 ≤ 150 ms. */
const sweepRates =
  parsed.sweep === undefined
    ? undefined
    : parsed.sweep.split(',').map((value) => {
        const rateOfRun = Number(value);
        return /^\d+$/.test(value) && rateOfRun >= 1 && rateOfRun <= 20_000
          ? rateOfRun
          : badInput(
              `--sweep ${JSON.stringify(parsed.sweep)} must list whole rates from 1 to 20000, like 100,200,400`,
            );
      });
if (httpOnly && workerCount === 0)
  badInput('--http-only needs --workers 1 or more (someone has to send the replies)');
const serverUrl = benchmarkServerUrl(parsed['database-server']).match((url) => url, badInput);
const cpuProfDir = parsed['cpu-prof-dir'] === undefined ? undefined : resolvePath(parsed['cpu-prof-dir']);
if (cpuProfDir === '') badInput('--cpu-prof-dir must name a directory');
const jsonOnly = parsed.json;
/** With --ack, webhooks kept apart for the closed-loop phase, each stored once (a duplicate is cheaper). */
const closedLoopBodies = ackOnly ? 40_000 : 0;
const total = rate * (warmUpSeconds + seconds) + closedLoopBodies;
if (total > 2_000_000)
  badInput(`--rate × (--warm-up + --seconds) is ${total} messages; at most 2,000,000 per run`);

const say = (line: string) => {
  if (!jsonOnly) process.stderr.write(`${line}\n`);
};

// -- clean-up: every child process, the database -------------------------------------------------------

const children: ChildProcess[] = [];
let database: TestDatabase | undefined;
let storage: PostgresStorage | undefined;
let cleaning: Promise<void> | undefined;

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
const stopChild = (child: ChildProcess, graceMs: number): Promise<void> => {
  if (!alive(child)) return Promise.resolve();
  return new Promise((done) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      done();
    });
    child.kill('SIGTERM');
  });
};

const cleanUp = (): Promise<void> => {
  cleaning ??= (async () => {
    // The host and workers first (they finish what they hold), then the fake they send to.
    const [fake, ...rest] = children;
    await Promise.all(rest.map((child) => stopChild(child, 15_000)));
    if (fake !== undefined) await stopChild(fake, 5000);
    await storage?.close().catch(() => undefined);
    await database?.drop().catch((error: unknown) => {
      process.stderr.write(`end-to-end: could not drop database ${database?.name}: ${String(error)}\n`);
    });
  })();
  return cleaning;
};

process.once('exit', () => {
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`end-to-end: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

// -- helpers -----------------------------------------------------------------------------------------

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A child whose output is kept (its last 64 kB) for failure messages and counted for the report. */
type Tracked = { readonly child: ChildProcess; readonly name: string; output: string; lines: number };

const track = (name: string, child: ChildProcess): Tracked => {
  const tracked: Tracked = { child, name, output: '', lines: 0 };
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    tracked.lines += text.split('\n').length - 1;
    tracked.output = (tracked.output + text).slice(-65_536);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  children.push(child);
  return tracked;
};

const getJson = async <T>(url: string): Promise<T> => {
  const response = await request(url);
  if (response.statusCode !== 200)
    throw new Error(`GET ${url} answered ${response.statusCode}: ${await response.body.text()}`);
  return (await response.body.json()) as T;
};

const round = (value: number, digits = 1) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;

// CPU seconds per process, from /proc (Linux); the report says who used the two cores during the window.
const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const cpuSecondsOf = (pid: number | undefined): number => {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return 0;
  }
};

/** A process's resident memory in MiB, from /proc (Linux); NaN where that cannot be read. */
const rssMibOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? Number.NaN : Number(kib) / 1024;
  } catch {
    return Number.NaN;
  }
};

/** Every `postgres` process on the machine (the server's backends, walwriter, checkpointer…). */
const postgresCpuSeconds = (): number => {
  let sum = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
          sum += cpuSecondsOf(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return sum;
};

/** Busy and total jiffies of the whole machine. */
const machineTicks = (): { busy: number; total: number } => {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const totalTicks = fields.reduce((sum, value) => sum + value, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: totalTicks - idle, total: totalTicks };
  } catch {
    return { busy: 0, total: 0 };
  }
};

/** Server-side counters for the run's database and the server's WAL, through psql (no driver needed here). */
const pgCounters = (databaseName: string): Promise<Record<string, number>> =>
  new Promise((resolve) => {
    const sql =
      'SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted, d.tup_fetched, ' +
      'd.blks_read, d.blks_hit, d.deadlocks, w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync ' +
      `FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '${databaseName}'`;
    execFile('psql', [serverUrl, '-AtF', ',', '-c', sql], { encoding: 'utf8' }, (error, stdout) => {
      if (error !== null) return resolve({});
      const names = [
        'xactCommit',
        'xactRollback',
        'tupInserted',
        'tupUpdated',
        'tupDeleted',
        'tupFetched',
        'blksRead',
        'blksHit',
        'deadlocks',
        'walRecords',
        'walBytes',
        'walWrite',
        'walSync',
      ];
      const values = stdout.trim().split(',').map(Number);
      resolve(Object.fromEntries(names.map((name, index) => [name, values[index] ?? Number.NaN])));
    });
  });

/**
 * The host's own counters, from its /metrics: database statements, round trips and transactions, and
 * webhooks accepted. Only the host's: worker processes serve no metrics.
 */
const hostCounters = async (url: string): Promise<Record<string, number>> => {
  try {
    const text = await (await request(`${url}/metrics`)).body.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    return {
      statements: value(/^prestabot_db_statements_total (\S+)$/m),
      roundTrips: value(/^prestabot_db_round_trips_total (\S+)$/m),
      commits: value(/^prestabot_db_transactions_total\{outcome="commit"\} (\S+)$/m),
      webhooks: value(/^prestabot_webhook_requests_total\{outcome="accepted"\} (\S+)$/m),
    };
  } catch {
    return {};
  }
};

// -- the deployment ----------------------------------------------------------------------------------

const randomKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
const unwrap = async <T, E>(result: ResultAsync<T, E>, what: string): Promise<T> => {
  const settled = await result;
  if (settled.isErr()) throw new Error(`${what}: ${JSON.stringify(settled.error)}`);
  return settled.value;
};

const runId = String(Date.now() % 1_000_000).padStart(6, '0');
const numbers = Array.from({ length: tenantCount }, (_, index) => ({
  phoneNumberId: `1${runId}${String(index + 1).padStart(8, '0')}`,
  accessToken: `EAAG-bench-${runId}-${index + 1}`,
}));
const wabaId = '102290129340398';
const appSecret = `bench-app-secret-${crypto.randomUUID()}`;
const verifyToken = `bench-verify-${crypto.randomUUID()}`;
const encryptionKey = randomKey();
/** Senders are +569 followed by 8 digits: the message's index. */
const senderOf = (index: number) => `569${String(index).padStart(8, '0')}`;
const senderIndexOf = (phone: string): number | undefined => {
  const match = /^\+569(\d{8})$/.exec(phone);
  return match === null ? undefined : Number(match[1]);
};

/** Starts a Node program that prints `{"url": …}` once it listens; resolves with the URL. */
const startListener = async (name: string, args: readonly string[]): Promise<string> => {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = track(name, child);
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${tracked.output}`)));
  });
  return (JSON.parse(line) as { url: string }).url;
};

/** The fake, which reports sent, delivered and read to the host for every reply it accepts unless --no-statuses. */
const startFake = (hostUrl: string): Promise<string> =>
  startListener('the fake Graph API', [
    // A larger young generation: fewer collection pauses in the fake, whose pauses would read as latency.
    '--max-semi-space-size=64',
    fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/fake-graph'))),
    '--no-pair-limit',
    ...(withStatuses
      ? [
          '--webhook-url',
          `${hostUrl}/webhook`,
          '--app-secret',
          appSecret,
          '--auto-statuses',
          String(statusStepMs),
          '--status-per-webhook',
        ]
      : []),
    ...numbers.flatMap((number) => [
      '--number',
      `${number.phoneNumberId}:${number.accessToken}:${numberRate}`,
    ]),
  ]);

const prepareDatabase = async (): Promise<void> => {
  database = await createTestDatabase(serverUrl);
  const cipher = await unwrap(
    createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: encryptionKey }),
    'cannot make the cipher',
  );
  storage = await unwrap(
    createPostgresStorage({ databaseUrl: database.url, cipher }),
    'cannot open the database',
  );
  await unwrap(storage.migrate(), 'cannot migrate');
  const manage = new ManageTenants({ ...storage, cipher, ids: { uuid: () => crypto.randomUUID() } });
  for (let first = 0; first < numbers.length; first += 10) {
    await Promise.all(
      numbers.slice(first, first + 10).map((number, offset) =>
        unwrap(
          manage.addTenant({
            name: `Bench tenant ${first + offset + 1}`,
            phoneNumberId: number.phoneNumberId,
            accessToken: number.accessToken,
            wabaId,
            ratePerSecond: numberRate,
          }),
          `cannot add tenant ${number.phoneNumberId}`,
        ),
      ),
    );
  }
  await storage.close();
  storage = undefined;
};

const hostCli = fileURLToPath(new URL('../cli.js', import.meta.url));

const nodeArgs = (name: string) =>
  cpuProfDir === undefined
    ? []
    : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.${runId}.cpuprofile`];

const hostEnv = (graphUrl: string, port: number): NodeJS.ProcessEnv => ({
  ...process.env,
  DATABASE_URL: database!.url,
  PORT: String(port),
  META_APP_SECRET: appSecret,
  WHATSAPP_VERIFY_TOKEN: verifyToken,
  PRESTABOT_ENCRYPTION_KEY: encryptionKey,
  META_GRAPH_URL: graphUrl,
  LOG_LEVEL: 'warn',
});

/** `prestabot worker` processes beside the host. */
const startWorkers = (env: NodeJS.ProcessEnv, count: number): Tracked[] =>
  Array.from({ length: count }, (_, index) =>
    track(
      `worker-${index + 1}`,
      spawn(process.execPath, [...nodeArgs(`worker-${index + 1}`), hostCli, 'worker'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ),
  );

const startHost = async (
  graphUrl: string,
  port: number,
  workersBeside = workerCount,
): Promise<{ url: string; host: Tracked; workers: Tracked[]; env: NodeJS.ProcessEnv }> => {
  const env = hostEnv(graphUrl, port);
  const workers = startWorkers(env, workersBeside);
  const host = track(
    'host',
    spawn(
      process.execPath,
      [
        ...nodeArgs('host'),
        hostCli,
        'serve',
        '--port',
        String(port),
        ...(httpOnly || ackOnly ? ['--no-worker'] : []),
        // Acknowledgement alone: the host only verifies and stores, a worker processes.
        ...(ackOnly ? ['--ingest-only'] : []),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  // LOG_LEVEL=warn hides the "listening" line: ask /healthz until it answers.
  while (true) {
    for (const tracked of [host, ...workers])
      if (!alive(tracked.child))
        throw new Error(
          `${tracked.name} exited with ${tracked.child.exitCode} before the run:\n${tracked.output}`,
        );
    try {
      const response = await request(`${url}/healthz`);
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the host did not answer /healthz within 90 s:\n${host.output}`);
    await sleep(100);
  }
  return { url, host, workers, env };
};

/** Inbox entries stored and not processed yet, through psql. */
const unprocessedEntries = (): Promise<number> =>
  new Promise((resolve) => {
    const databaseUrl = new URL(serverUrl);
    databaseUrl.pathname = `/${database!.name}`;
    execFile(
      'psql',
      [
        databaseUrl.toString(),
        '-At',
        '-c',
        'SELECT count(*) FROM prestabot.inbox WHERE processed_at IS NULL',
      ],
      { encoding: 'utf8' },
      (error, stdout) => resolve(error === null ? Number(stdout.trim()) : Number.NaN),
    );
  });

// -- the webhooks ------------------------------------------------------------------------------------

/** Meta's webhook JSON for one text message from one sender to one number. */
const payloadFor = (index: number) => {
  const number = numbers[index % numbers.length]!;
  const waId = senderOf(index);
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: number.phoneNumberId },
              contacts: [{ profile: { name: `Bench ${index}` }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: `wamid.HBgLbench${runId}${String(index).padStart(8, '0')}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: 'hola' },
                },
              ],
            },
          },
        ],
      },
    ],
  };
};

type Prepared = { readonly body: Buffer; readonly signature: string };

/** Every body and signature made before the run, so the load generator spends its CPU on sending only. */
const prepareWebhooks = async (): Promise<Prepared[]> => {
  const prepared: Prepared[] = new Array(total);
  for (let first = 0; first < total; first += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, total - first) }, async (_, offset) => {
        const index = first + offset;
        const body = Buffer.from(JSON.stringify(payloadFor(index)));
        prepared[index] = { body, signature: await signWebhookBody(body, appSecret) };
      }),
    );
  }
  return prepared;
};

type LoadRecord = {
  /** When the message was due, and when its POST started (epoch ms). */
  readonly scheduledAt: Float64Array;
  readonly startedAt: Float64Array;
  /** Webhook answer time (ms) and status (0: no answer, the request failed). */
  readonly ackMs: Float64Array;
  readonly status: Int16Array;
  /** Messages 0 … sent-1 were posted; the rest were still waiting for room in flight when the run ended. */
  readonly sent: number;
  /** How many it was given. */
  readonly count: number;
  readonly startAt: number;
  readonly endedAt: number;
  readonly requestErrors: string[];
};

/** A message still waiting for room in flight this long after the last one was due is not sent at all. */
const stopGraceMs = 1000;

/**
 * Offers `rate` messages a second (open loop: each message is due at its own time, whether or not the
 * host answered the previous ones), with at most `concurrency` requests in flight over keep-alive
 * connections. A message due while the limit is reached starts as soon as a request finishes; once the
 * run is over (plus a second), what has not started yet is not sent.
 */
const offerLoad = (url: string, prepared: readonly Prepared[]): Promise<LoadRecord> => {
  const count = prepared.length;
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const record = {
    scheduledAt: new Float64Array(count),
    startedAt: new Float64Array(count),
    ackMs: new Float64Array(count),
    status: new Int16Array(count),
    requestErrors: [] as string[],
  };
  const intervalMs = 1000 / rate;
  const startAt = now() + 50;
  const stopAt = startAt + (warmUpSeconds + seconds) * 1000 + stopGraceMs;
  let next = 0;
  let inFlight = 0;
  let finished = false;
  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      void pool.close().then(() => resolve({ ...record, sent: next, count, startAt, endedAt: now() }));
    };
    const launch = (index: number) => {
      const message = prepared[index]!;
      inFlight += 1;
      const t0 = now();
      record.scheduledAt[index] = startAt + index * intervalMs;
      record.startedAt[index] = t0;
      pool
        .request({
          path: '/webhook',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': message.signature },
          body: message.body,
        })
        .then(
          async (response) => {
            await response.body.dump();
            record.status[index] = response.statusCode;
            record.ackMs[index] = now() - t0;
          },
          (error: unknown) => {
            record.status[index] = 0;
            record.ackMs[index] = now() - t0;
            if (record.requestErrors.length < 5) record.requestErrors.push(String(error));
          },
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    };
    const pump = () => {
      const at = now();
      if (next < count && at < stopAt) {
        const due = Math.min(count, Math.floor((at - startAt) / intervalMs) + 1);
        while (next < due && inFlight < concurrency) {
          launch(next);
          next += 1;
        }
      } else if (inFlight === 0) finish();
    };
    const ticker = setInterval(pump, 1);
  });
};

// -- the results -------------------------------------------------------------------------------------

type NumberListing = {
  numbers: {
    phoneNumberId: string;
    stats: { accepted: number; dropped: number; errors: Record<string, number> };
  }[];
};
type AcceptedJson = { recipient?: { phone?: string }; message: { type: string }; receivedAt: number };

const totalAccepted = async (graphUrl: string): Promise<number> =>
  (await getJson<NumberListing>(`${graphUrl}/_fake/numbers`)).numbers.reduce(
    (sum, number) => sum + number.stats.accepted,
    0,
  );

/**
 * Waits until the replies stop coming: at least one per acknowledged message and nothing new for a
 * second, or nothing new for 10 s, or the drain timeout.
 */
const drain = async (
  graphUrl: string,
  acknowledged: number,
): Promise<{ drainedMs: number; timedOut: boolean }> => {
  const started = now();
  let last = -1;
  let lastChangeAt = now();
  while (true) {
    const accepted = await totalAccepted(graphUrl);
    if (accepted !== last) {
      last = accepted;
      lastChangeAt = now();
    }
    const quietMs = now() - lastChangeAt;
    if ((accepted >= acknowledged && quietMs >= 1000) || quietMs >= 10_000)
      return { drainedMs: lastChangeAt - started, timedOut: false };
    if (now() - started > drainTimeoutMs) return { drainedMs: now() - started, timedOut: true };
    await sleep(250);
  }
};

type CpuSample = {
  readonly at: number;
  readonly bench: number;
  readonly host: number;
  readonly workers: number;
  readonly fake: number;
  readonly postgres: number;
  readonly machine: { busy: number; total: number };
};

const sampleCpu = (host: Tracked, workers: readonly Tracked[], fake: ChildProcess): CpuSample => {
  const own = process.cpuUsage();
  return {
    at: now(),
    bench: (own.user + own.system) / 1e6,
    host: cpuSecondsOf(host.child.pid),
    workers: workers.reduce((sum, worker) => sum + cpuSecondsOf(worker.child.pid), 0),
    fake: cpuSecondsOf(fake.pid),
    postgres: postgresCpuSeconds(),
    machine: machineTicks(),
  };
};

/** Cores used on average between two samples, per process group. */
const coresBetween = (from: CpuSample, to: CpuSample) => {
  const wall = (to.at - from.at) / 1000;
  const cores = (key: 'bench' | 'host' | 'workers' | 'fake' | 'postgres') =>
    round((to[key] - from[key]) / wall, 2);
  const ticks = to.machine.total - from.machine.total;
  return {
    bench: cores('bench'),
    host: cores('host'),
    workers: cores('workers'),
    fakeGraph: cores('fake'),
    postgres: cores('postgres'),
    machineBusyPercent: ticks > 0 ? round(((to.machine.busy - from.machine.busy) / ticks) * 100, 1) : null,
  };
};

const main = async () => {
  say(
    `end-to-end: ${tenantCount} tenants, ${rate} msg/s offered for ${warmUpSeconds} s warm-up + ${seconds} s measured, ` +
      `${workerCount} extra worker(s)${httpOnly ? ', serve --no-worker' : ''}, concurrency ${concurrency}`,
  );
  const hostPort = await freeLoopbackPort();
  const graphUrl = await startFake(`http://127.0.0.1:${hostPort}`);
  await prepareDatabase();
  say(`database ${database!.name} migrated, ${tenantCount} tenants added; fake Graph API at ${graphUrl}`);
  const { url, host, workers } = await startHost(graphUrl, hostPort);
  const fakeChild = children[0]!;
  say(`host at ${url}; preparing ${total} signed webhooks`);
  const prepared = await prepareWebhooks();
  // Two seconds without load: what the processes burn idle, and whether anything else is busy on the machine.
  const idleFrom = sampleCpu(host, workers, fakeChild);
  await sleep(2000);
  const idle = coresBetween(idleFrom, sampleCpu(host, workers, fakeChild));
  say(
    `idle for 2 s: host ${idle.host} cores, postgres ${idle.postgres}, machine ${idle.machineBusyPercent} % busy`,
  );
  const pgBefore = pgCounters(database!.name);

  // CPU is sampled at the edges of the measured window (on timers, outside the hot path).
  const windowStart = {
    sample: undefined as CpuSample | undefined,
    pg: undefined as Promise<Record<string, number>> | undefined,
    host: undefined as Promise<Record<string, number>> | undefined,
  };
  const windowEnd = {
    sample: undefined as CpuSample | undefined,
    pg: undefined as Promise<Record<string, number>> | undefined,
    host: undefined as Promise<Record<string, number>> | undefined,
  };
  const loadStartedAt = now();
  // The host's resident memory once a second through the measured window: does it stay flat?
  const hostRss: number[] = [];
  const sampleMemory = () => hostRss.push(rssMibOf(host.child.pid));
  let rssTimer: ReturnType<typeof setInterval> | undefined;
  setTimeout(
    () => {
      sampleMemory();
      rssTimer = setInterval(sampleMemory, 1000);
    },
    warmUpSeconds * 1000 + 50,
  );
  setTimeout(() => clearInterval(rssTimer), (warmUpSeconds + seconds) * 1000 + 50);
  setTimeout(
    () => {
      windowStart.sample = sampleCpu(host, workers, fakeChild);
      windowStart.pg = pgCounters(database!.name);
      windowStart.host = hostCounters(url);
    },
    warmUpSeconds * 1000 + 50,
  );
  setTimeout(
    () => {
      windowEnd.sample = sampleCpu(host, workers, fakeChild);
      windowEnd.pg = pgCounters(database!.name);
      windowEnd.host = hostCounters(url);
    },
    (warmUpSeconds + seconds) * 1000 + 50,
  );
  say(`offering load from ${new Date(loadStartedAt).toISOString()}`);
  const load = await offerLoad(url, prepared);
  const acknowledged = load.status.reduce((sum, status) => sum + (status === 200 ? 1 : 0), 0);
  say(
    `load done in ${((load.endedAt - load.startAt) / 1000).toFixed(1)} s; waiting for the replies to drain`,
  );
  const drained = await drain(graphUrl, acknowledged);
  await pgBefore;

  // Replies, matched to messages by recipient.
  const firstReplyAt = new Float64Array(total).fill(Number.NaN);
  let replies = 0;
  let unmatched = 0;
  const listing = await getJson<NumberListing>(`${graphUrl}/_fake/numbers`);
  for (const number of numbers) {
    const { messages } = await getJson<{ messages: AcceptedJson[] }>(
      `${graphUrl}/_fake/numbers/${number.phoneNumberId}/messages`,
    );
    for (const message of messages) {
      if (message.message.type === 'mark_read') continue;
      replies += 1;
      const index =
        message.recipient?.phone === undefined ? undefined : senderIndexOf(message.recipient.phone);
      if (index === undefined || index >= total) {
        unmatched += 1;
        continue;
      }
      const previous = firstReplyAt[index]!;
      if (Number.isNaN(previous) || message.receivedAt < previous) firstReplyAt[index] = message.receivedAt;
    }
  }
  const graphErrors: Record<string, number> = {};
  let dropped = 0;
  for (const number of listing.numbers) {
    dropped += number.stats.dropped;
    for (const [code, count] of Object.entries(number.stats.errors))
      graphErrors[code] = (graphErrors[code] ?? 0) + count;
  }

  // The measured window: messages whose POST started in it, and first replies accepted in it. A message
  // acknowledged but never answered counts as an infinite latency, so losses show in the percentiles too.
  const windowFrom = load.startAt + warmUpSeconds * 1000;
  const windowTo = windowFrom + seconds * 1000;
  const latencies: number[] = [];
  const acks: number[] = [];
  const clientLag: number[] = [];
  let repliesInWindow = 0;
  let postsInWindow = 0;
  let lost = 0;
  let lostMeasured = 0;
  let non200 = 0;
  const statuses: Record<string, number> = {};
  for (let index = 0; index < load.sent; index += 1) {
    const status = load.status[index]!;
    const replyAt = firstReplyAt[index]!;
    const startedAt = load.startedAt[index]!;
    if (status !== 200) {
      non200 += 1;
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    } else if (Number.isNaN(replyAt)) {
      lost += 1;
      if (startedAt >= windowFrom && startedAt < windowTo) lostMeasured += 1;
    }
    if (!Number.isNaN(replyAt) && replyAt >= windowFrom && replyAt < windowTo) repliesInWindow += 1;
    if (startedAt >= windowFrom && startedAt < windowTo) postsInWindow += 1;
    if (startedAt < windowFrom || startedAt >= windowTo) continue;
    acks.push(load.ackMs[index]!);
    clientLag.push(startedAt - load.scheduledAt[index]!);
    if (status === 200)
      latencies.push(Number.isNaN(replyAt) ? Number.POSITIVE_INFINITY : replyAt - startedAt);
  }
  const notSent = total - load.sent;
  const sorted = (values: number[]) => Float64Array.from(values).sort();
  const latency = sorted(latencies);
  const ack = sorted(acks);
  const lag = sorted(clientLag);
  const throughput = repliesInWindow / seconds;
  const cpu =
    windowStart.sample !== undefined && windowEnd.sample !== undefined
      ? coresBetween(windowStart.sample, windowEnd.sample)
      : undefined;
  /** How much each counter grew over the window (NaN when either end is missing). */
  const growthOver = async (
    from: Promise<Record<string, number>> | undefined,
    to: Promise<Record<string, number>> | undefined,
  ) => {
    const none: Record<string, number> = {};
    const [before, after] = await Promise.all([from ?? none, to ?? none]);
    return (key: string): number => (after[key] ?? Number.NaN) - (before[key] ?? Number.NaN);
  };
  const perMessage = (growth: number) =>
    Number.isFinite(growth) && postsInWindow > 0 ? round(growth / postsInWindow, 2) : null;
  const pgGrowth = await growthOver(windowStart.pg, windowEnd.pg);
  const hostGrowth = await growthOver(windowStart.host, windowEnd.host);
  const pgPerMessage = (key: string) => perMessage(pgGrowth(key));
  const hostPerMessage = (key: string) => perMessage(hostGrowth(key));
  const cpuMsPerMessage =
    cpu === undefined || postsInWindow === 0
      ? undefined
      : {
          hostAndWorkers: round((((cpu.host ?? 0) + (cpu.workers ?? 0)) * 1000 * seconds) / postsInWindow, 2),
          postgres: round(((cpu.postgres ?? 0) * 1000 * seconds) / postsInWindow, 2),
        };
  const hostDatabase = {
    webhooksPerMessage: hostPerMessage('webhooks'),
    statementsPerMessage: hostPerMessage('statements'),
    roundTripsPerMessage: hostPerMessage('roundTrips'),
    transactionsPerMessage: hostPerMessage('commits'),
  };
  const pgWindow = {
    transactionsPerMessage: pgPerMessage('xactCommit'),
    rollbacksPerMessage: pgPerMessage('xactRollback'),
    rowsInsertedPerMessage: pgPerMessage('tupInserted'),
    rowsUpdatedPerMessage: pgPerMessage('tupUpdated'),
    rowsDeletedPerMessage: pgPerMessage('tupDeleted'),
    walRecordsPerMessage: pgPerMessage('walRecords'),
    walBytesPerMessage: pgPerMessage('walBytes'),
    walSyncsPerSecond: Number.isFinite(pgGrowth('walSync')) ? round(pgGrowth('walSync') / seconds, 0) : null,
  };
  // Memory: the median of the window's first tenth against that of its last tenth, so one collection
  // pause or one burst of garbage does not decide it.
  const tenth = Math.max(1, Math.floor(hostRss.length / 10));
  const median = (values: number[]) => {
    const sortedValues = [...values].sort((a, b) => a - b);
    return sortedValues[Math.floor(sortedValues.length / 2)] ?? Number.NaN;
  };
  const rssFirst = median(hostRss.slice(0, tenth));
  const rssLast = median(hostRss.slice(-tenth));
  const hostMemory = {
    firstTenthMib: round(rssFirst),
    lastTenthMib: round(rssLast),
    maxMib: round(Math.max(...hostRss)),
    changePercent: round(((rssLast - rssFirst) / rssFirst) * 100),
  };
  const hostLogLines = host.lines + workers.reduce((sum, worker) => sum + worker.lines, 0);
  const result = {
    benchmark: 'end-to-end',
    tenants: tenantCount,
    offeredRate: rate,
    seconds,
    warmUpSeconds,
    extraWorkers: workerCount,
    serveWorker: !httpOnly,
    concurrency,
    numberRate,
    storage: 'postgresql',
    messages: total,
    postsPerSecondInWindow: round(postsInWindow / seconds, 1),
    throughput: round(throughput, 1),
    /** null: the percentile falls on a message acknowledged but never answered. */
    latencyMs: {
      p50: round(percentile(latency, 50)),
      p95: round(percentile(latency, 95)),
      p99: round(percentile(latency, 99)),
      max: round(percentile(latency, 100)),
    },
    ackMs: {
      p50: round(percentile(ack, 50)),
      p99: round(percentile(ack, 99)),
      max: round(percentile(ack, 100)),
    },
    clientLagMs: { p99: round(percentile(lag, 99)), max: round(percentile(lag, 100)) },
    non200,
    statuses,
    requestErrors: load.requestErrors,
    notSent,
    lost,
    lostMeasured,
    replies,
    unmatchedReplies: unmatched,
    repliesPerMessage: round(replies / Math.max(1, firstReplyAt.filter((at) => !Number.isNaN(at)).length), 2),
    graphErrors,
    graphDropped: dropped,
    drainMs: round(drained.drainedMs, 0),
    drainTimedOut: drained.timedOut,
    hostLogLines,
    cpuCores: cpu,
    cpuMsPerMessage,
    idleCpuCores: idle,
    postgres: pgWindow,
    hostDatabase,
    statusWebhooks: withStatuses,
    hostMemory,
    pass:
      throughput >= 2000 &&
      percentile(latency, 99) <= 150 &&
      lost === 0 &&
      non200 === 0 &&
      Object.keys(graphErrors).length === 0,
  };
  if (hostLogLines > 0)
    say(
      `host/worker output (last lines):\n${[host, ...workers].map((t) => t.output.split('\n').slice(-6).join('\n')).join('\n')}`,
    );

  if (jsonOnly) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const rows: [string, string][] = [
      ['tenants / numbers', `${tenantCount} (Graph allows ${numberRate}/s each)`],
      [
        'processes',
        `serve${httpOnly ? ' --no-worker' : ''} + ${workerCount} worker(s), fake Graph${withStatuses ? ` (sent, delivered, read: a webhook each, ${statusStepMs} ms apart)` : ' (no statuses)'}, PostgreSQL`,
      ],
      ['offered', `${rate} msg/s, ${warmUpSeconds} s warm-up + ${seconds} s measured (${total} messages)`],
      ['webhooks started/s (window)', String(result.postsPerSecondInWindow)],
      ['replies accepted/s (window)', `${result.throughput}`],
      [
        'latency p50 / p95 / p99 / max',
        `${[result.latencyMs.p50, result.latencyMs.p95, result.latencyMs.p99, result.latencyMs.max].map((value) => value ?? '∞').join(' / ')} ms`,
      ],
      ['webhook ack p50 / p99 / max', `${result.ackMs.p50} / ${result.ackMs.p99} / ${result.ackMs.max} ms`],
      ['client start lag p99 / max', `${result.clientLagMs.p99} / ${result.clientLagMs.max} ms`],
      ['non-200 webhooks', `${non200}${non200 > 0 ? ` ${JSON.stringify(statuses)}` : ''}`],
      ['not sent (in-flight limit)', String(notSent)],
      ['acknowledged, no reply by the end', `${lost} (${lostMeasured} in the window)`],
      ['replies per message', String(result.repliesPerMessage)],
      ['Graph errors / dropped', `${JSON.stringify(graphErrors)} / ${dropped}`],
      ['drain after load', `${result.drainMs} ms${drained.timedOut ? ' (TIMED OUT)' : ''}`],
      [
        'CPU cores (window)',
        cpu === undefined
          ? '-'
          : `bench ${cpu.bench}, host ${cpu.host}, workers ${cpu.workers}, fake ${cpu.fakeGraph}, postgres ${cpu.postgres}; machine ${cpu.machineBusyPercent} % busy`,
      ],
      [
        'CPU ms per message (window)',
        cpuMsPerMessage === undefined
          ? '-'
          : `host+workers ${cpuMsPerMessage.hostAndWorkers}, postgres ${cpuMsPerMessage.postgres}`,
      ],
      [
        'CPU cores idle (2 s before)',
        `host ${idle.host}, workers ${idle.workers}, postgres ${idle.postgres}; machine ${idle.machineBusyPercent} % busy`,
      ],
      [
        'PostgreSQL per message',
        `${pgWindow.transactionsPerMessage} xacts, ${pgWindow.rowsInsertedPerMessage} ins, ${pgWindow.rowsUpdatedPerMessage} upd, ${pgWindow.rowsDeletedPerMessage} del, ${pgWindow.walRecordsPerMessage} WAL records, ${pgWindow.walBytesPerMessage} WAL bytes; ${pgWindow.walSyncsPerSecond} WAL syncs/s`,
      ],
      [
        'host per message (its /metrics)',
        `${hostDatabase.webhooksPerMessage} webhooks, ${hostDatabase.statementsPerMessage} statements, ${hostDatabase.roundTripsPerMessage} round trips, ${hostDatabase.transactionsPerMessage} transactions${workerCount > 0 ? ' (the host only)' : ''}`,
      ],
      [
        'host memory (RSS, window)',
        `${hostMemory.firstTenthMib} MiB first tenth → ${hostMemory.lastTenthMib} MiB last tenth (${hostMemory.changePercent} %), max ${hostMemory.maxMib} MiB`,
      ],

      ['SPEC (≥ 2000/s, p99 ≤ 150 ms, nothing lost)', result.pass ? 'MET' : 'NOT MET'],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  }
};

type Saturated = {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non200: number;
  /** How many bodies it used (each once, unless `reuse`). */
  readonly used: number;
};

/**
 * Closed loop: `concurrency` requests always in flight for `ms`, each the next body (cycling through
 * them if `reuse`, else stopping when they run out). Counts the 200s a second and their latency.
 */
const saturate = async (
  url: string,
  bodies: readonly Prepared[],
  ms: number,
  reuse: boolean,
): Promise<Saturated> => {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let next = 0;
  let non200 = 0;
  const started = now();
  const until = started + ms;
  const client = async () => {
    while (now() < until && (reuse || next < bodies.length)) {
      const message = bodies[next % bodies.length]!;
      next += 1;
      const t0 = now();
      const response = await pool.request({
        path: '/webhook',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': message.signature },
        body: message.body,
      });
      await response.body.dump();
      if (response.statusCode === 200) latencies.push(now() - t0);
      else non200 += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedSeconds = (now() - started) / 1000;
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    perSecond: latencies.length / elapsedSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    non200,
    used: next,
  };
};

const mainAck = async () => {
  say(
    `webhook ack: ${tenantCount} tenants; closed loop with ${concurrency} in flight, then ${rate}/s offered for ${warmUpSeconds} s warm-up + ${seconds} s`,
  );
  const hostPort = await freeLoopbackPort();
  const graphUrl = await startFake(`http://127.0.0.1:${hostPort}`);
  await prepareDatabase();
  // Processing is deferred: the workers start once acknowledgement is measured, and drain the backlog.
  const { url, env } = await startHost(graphUrl, hostPort, 0);
  const bareUrl = await startListener('bare Express', [
    fileURLToPath(new URL('./bare-express.js', import.meta.url)),
  ]);
  say(
    `host at ${url} (serve --no-worker --ingest-only), bare Express at ${bareUrl}; preparing ${total} signed webhooks`,
  );
  const prepared = await prepareWebhooks();
  const closedLoop = prepared.slice(0, closedLoopBodies);
  // Warm both up, then measure each for `seconds` (at most 10), bare Express first.
  const phaseMs = Math.min(seconds, 10) * 1000;
  await saturate(bareUrl, closedLoop, 2000, true);
  const bare = await saturate(bareUrl, closedLoop, phaseMs, true);
  const hostWarmUp = await saturate(url, closedLoop, 2000, false);
  const host = await saturate(url, closedLoop.slice(hostWarmUp.used), phaseMs, false);
  say(`closed loop: bare Express ${Math.round(bare.perSecond)}/s, host ${Math.round(host.perSecond)}/s`);
  const load = await offerLoad(url, prepared.slice(closedLoopBodies));
  const windowFrom = load.startAt + warmUpSeconds * 1000;
  const acks: number[] = [];
  let non200 = 0;
  for (let index = 0; index < load.sent; index += 1) {
    if (load.status[index] !== 200) non200 += 1;
    else if (load.startedAt[index]! >= windowFrom) acks.push(load.ackMs[index]!);
  }
  const ack = Float64Array.from(acks).sort();
  const windowSeconds = (load.endedAt - windowFrom) / 1000;
  const backlog = await unprocessedEntries();
  say(`acknowledged and stored; ${backlog} messages wait for processing: starting ${workerCount} worker(s)`);
  const drainStarted = now();
  startWorkers(env, workerCount);
  let left = backlog;
  while (left > 0 && now() - drainStarted < drainTimeoutMs) {
    await sleep(500);
    left = await unprocessedEntries();
  }
  const drainSeconds = (now() - drainStarted) / 1000;
  const result = {
    benchmark: 'webhook-ack',
    tenants: tenantCount,
    concurrency,
    bareExpressPerSecond: round(bare.perSecond),
    hostPerSecond: round(host.perSecond),
    hostShareOfBare: round(host.perSecond / bare.perSecond, 3),
    hostClosedLoopMs: { p50: round(host.p50Ms), p99: round(host.p99Ms) },
    hostBodiesRanOut: host.used >= closedLoopBodies - hostWarmUp.used,
    offeredRate: rate,
    acknowledgedPerSecond: round(acks.length / windowSeconds),
    ackMs: {
      p50: round(percentile(ack, 50)),
      p99: round(percentile(ack, 99)),
      max: round(percentile(ack, 100)),
    },
    notSent: load.count - load.sent,
    non200: non200 + host.non200 + bare.non200,
    backlog: { messages: backlog, workers: workerCount, drainedSeconds: round(drainSeconds), left },
    pass:
      host.perSecond >= 0.6 * bare.perSecond &&
      percentile(ack, 99) <= 25 &&
      load.sent === load.count &&
      non200 + host.non200 === 0,
  };
  if (jsonOnly) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const rows: [string, string][] = [
    ['bare Express 5 (closed loop)', `${result.bareExpressPerSecond} requests/s`],
    [
      'host, verify + store (closed loop)',
      `${result.hostPerSecond} webhooks/s = ${round((host.perSecond / bare.perSecond) * 100)} % of bare; p50 ${result.hostClosedLoopMs.p50} ms, p99 ${result.hostClosedLoopMs.p99} ms`,
    ],
    [
      `host at ${rate}/s offered`,
      `${result.acknowledgedPerSecond}/s acknowledged; ack p50 ${result.ackMs.p50} ms, p99 ${result.ackMs.p99} ms, max ${result.ackMs.max} ms; ${result.notSent} not sent (in-flight limit)`,
    ],
    ['non-200 answers', String(result.non200)],
    [
      'backlog, then processed',
      `${backlog - left} of ${backlog} stored messages processed by ${workerCount} worker(s) in ${result.backlog.drainedSeconds} s (${round((backlog - left) / drainSeconds)}/s, workers starting included)${left > 0 ? `; ${left} left at --drain-timeout` : ''}`,
    ],
    ['SPEC (≥ 60 % of bare, p99 ≤ 25 ms at 1,000/s)', result.pass ? 'MET' : 'NOT MET'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
};

/** One run per rate, each this program again with --json; then the highest rate whose p99 ≤ 150 ms. */
const sweep = async (rates: readonly number[]): Promise<void> => {
  const args = process.argv
    .slice(2)
    .filter((arg, index, all) => arg !== '--sweep' && all[index - 1] !== '--sweep');
  const results: { rate: number; result: Record<string, unknown> | undefined }[] = [];
  for (const rateOfRun of rates) {
    say(`sweep: ${rateOfRun} msg/s`);
    const output = await new Promise<string>((done) => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(import.meta.url), ...args, '--rate', String(rateOfRun), '--json'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.once('exit', () => done(text));
    });
    const line = output.trim().split('\n').at(-1);
    results.push({
      rate: rateOfRun,
      result: line === undefined || line === '' ? undefined : JSON.parse(line),
    });
  }
  type Run = {
    throughput: number;
    latencyMs: { p50: number | null; p99: number | null };
    lost: number;
    non200: number;
    cpuCores?: { machineBusyPercent: number | null };
    cpuMsPerMessage?: { hostAndWorkers: number; postgres: number };
    postgres: { transactionsPerMessage: number | null; walBytesPerMessage: number | null };
    hostDatabase: { roundTripsPerMessage: number | null };
    hostMemory: { changePercent: number };
  };
  const meets = (run: Run | undefined) =>
    run !== undefined &&
    run.latencyMs.p99 !== null &&
    run.latencyMs.p99 <= 150 &&
    run.lost === 0 &&
    run.non200 === 0;
  const best = results.filter(({ result }) => meets(result as Run | undefined)).at(-1);
  if (jsonOnly) {
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'end-to-end sweep', runs: results, highestRateMeetingP99: best?.rate ?? null })}\n`,
    );
    return;
  }
  /** The table's columns: a heading, and each run's value (per message: `/m`). */
  const columns: [string, (run: Run, rateOfRun: number) => number | string | null | undefined][] = [
    ['rate', (_, rateOfRun) => rateOfRun],
    ['replies/s', (run) => run.throughput],
    ['p50 ms', (run) => run.latencyMs.p50 ?? '∞'],
    ['p99 ms', (run) => run.latencyMs.p99 ?? '∞'],
    ['lost', (run) => run.lost],
    ['busy %', (run) => run.cpuCores?.machineBusyPercent],
    ['xacts/m', (run) => run.postgres.transactionsPerMessage],
    ['WAL B/m', (run) => run.postgres.walBytesPerMessage],
    ['trips/m', (run) => run.hostDatabase.roundTripsPerMessage],
    ['host ms/m', (run) => run.cpuMsPerMessage?.hostAndWorkers],
    ['pg ms/m', (run) => run.cpuMsPerMessage?.postgres],
    ['RSS %', (run) => run.hostMemory.changePercent],
    ['p99 ≤ 150 ms', (run) => (meets(run) ? 'yes' : 'no')],
  ];
  const line = (cells: readonly (number | string | null | undefined)[]) =>
    cells.map((value, index) => String(value ?? '-').padStart(columns[index]![0].length + 2)).join('');
  const rows = results.map(({ rate: rateOfRun, result }) => {
    const run = result as Run | undefined;
    return run === undefined
      ? `${line([rateOfRun])}  (the run failed)`
      : line(columns.map(([, value]) => value(run, rateOfRun)));
  });
  process.stdout.write(
    `${line(columns.map(([heading]) => heading))}\n${rows.join('\n')}\n` +
      `highest rate meeting p99 ≤ 150 ms with nothing lost: ${best === undefined ? 'none' : `${best.rate} msg/s`}\n`,
  );
};

let exitCode = 0;
try {
  await (sweepRates !== undefined ? sweep(sweepRates) : ackOnly ? mainAck() : main());
} catch (error) {
  process.stderr.write(
    `end-to-end: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  exitCode = 1;
}
if (sweepRates === undefined) await cleanUp();
process.exit(exitCode);
