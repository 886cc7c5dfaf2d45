// What the run reads from outside its own process: CPU and memory from /proc (Linux), PostgreSQL's own
// counters through psql, the host's /metrics, and the replies the fake Graph API accepted.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'undici';

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export const round = (value: number, digits = 1) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null;

export const getJson = async <T>(url: string): Promise<T> => {
  const response = await request(url);
  if (response.statusCode !== 200)
    throw new Error(`GET ${url} answered ${response.statusCode}: ${await response.body.text()}`);
  return (await response.body.json()) as T;
};

// -- CPU and memory ----------------------------------------------------------------------------------

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const cpuSecondsOf = (pid: number | undefined, withReapedChildren = false): number => {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime; cutime and cstime are the children this process has waited for.
    const own = Number(fields[11]) + Number(fields[12]);
    return (withReapedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / clockTicks;
  } catch {
    return 0;
  }
};

/** A process's resident memory in MiB, from /proc (Linux); NaN where that cannot be read. */
export const rssMibOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? Number.NaN : Number(kib) / 1024;
  } catch {
    return Number.NaN;
  }
};

/**
 * Every `postgres` process on the machine (the server's backends, walwriter, checkpointer…), with the
 * backends that have exited: the postmaster has reaped them, so their time is in its children's. Without
 * those, a connection the pool closed during a run took its CPU out of the window (a ten-minute run showed
 * 0.05 cores).
 */
const postgresCpuSeconds = (): number => {
  let sum = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
          sum += cpuSecondsOf(Number(entry), true);
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

/** The processes of a run, by the part they play. */
export type RunPids = {
  readonly host: number | undefined;
  readonly workers: readonly (number | undefined)[];
  readonly fake: number | undefined;
};

export type CpuSample = {
  readonly at: number;
  readonly bench: number;
  readonly host: number;
  readonly workers: number;
  readonly fake: number;
  readonly postgres: number;
  readonly machine: { busy: number; total: number };
};

export const sampleCpu = (pids: RunPids): CpuSample => {
  const own = process.cpuUsage();
  return {
    at: now(),
    bench: (own.user + own.system) / 1e6,
    host: cpuSecondsOf(pids.host),
    workers: pids.workers.reduce((sum: number, pid) => sum + cpuSecondsOf(pid), 0),
    fake: cpuSecondsOf(pids.fake),
    postgres: postgresCpuSeconds(),
    machine: machineTicks(),
  };
};

export type Cores = ReturnType<typeof coresBetween>;

/** Cores used on average between two samples, per process group. */
export const coresBetween = (from: CpuSample, to: CpuSample) => {
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

// -- counters ----------------------------------------------------------------------------------------

export type Counters = Record<string, number>;

const pgCounterNames = [
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
  'walFullPageImages',
  'walWrite',
  'walSync',
];

/**
 * Server-side counters for the run's database and the server's WAL, read through one psql session (no
 * driver needed here) opened before the load. Starting psql at the window's edge forked this process and
 * a backend right as the window opened: the load stalled 27–104 ms there in every traced run (a burst of
 * webhooks at once), and psql took about 80 ms of CPU from the processes under test.
 */
export type PostgresCounters = {
  read(): Promise<Counters>;
  close(): void;
};

export const openPostgresCounters = (serverUrl: string, databaseName: string): PostgresCounters => {
  const sql =
    'SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted, d.tup_fetched, ' +
    'd.blks_read, d.blks_hit, d.deadlocks, w.wal_records, w.wal_bytes, w.wal_fpi, w.wal_write, w.wal_sync ' +
    `FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '${databaseName}';\n`;
  // One answer line per query, in order; psql stops at an error, which answers every waiting read empty.
  const waiting: ((counters: Counters) => void)[] = [];
  let pending = '';
  const psql = spawn('psql', [serverUrl, '-X', '-q', '-AtF', ',', '-v', 'ON_ERROR_STOP=1'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  psql.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const values = pending.slice(0, end).split(',').map(Number);
      pending = pending.slice(end + 1);
      waiting.shift()?.(
        Object.fromEntries(pgCounterNames.map((name, index) => [name, values[index] ?? Number.NaN])),
      );
    }
  });
  const answerAllEmpty = () => {
    for (const answer of waiting.splice(0)) answer({});
  };
  psql.on('exit', answerAllEmpty);
  psql.on('error', answerAllEmpty);
  psql.stdin.on('error', answerAllEmpty);
  return {
    read: () =>
      new Promise((resolve) => {
        if (psql.exitCode !== null || psql.stdin.destroyed) return resolve({});
        waiting.push(resolve);
        psql.stdin.write(sql);
      }),
    close: () => psql.stdin.end(),
  };
};

/**
 * The host's own counters, from its /metrics: database statements, round trips and transactions,
 * webhooks accepted and send slots missed. Only the host's: worker processes serve no metrics.
 */
export const hostCounters = async (url: string): Promise<Counters> => {
  try {
    const text = await (await request(`${url}/metrics`)).body.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    const sum = (pattern: RegExp) =>
      [...text.matchAll(pattern)].reduce((total, [, count]) => total + Number(count), 0);
    return {
      statements: value(/^prestabot_db_statements_total (\S+)$/m),
      roundTrips: value(/^prestabot_db_round_trips_total (\S+)$/m),
      commits: value(/^prestabot_db_transactions_total\{outcome="commit"\} (\S+)$/m),
      webhooks: value(/^prestabot_webhook_requests_total\{outcome="accepted"\} (\S+)$/m),
      // Slot misses: a send given back for a new slot, as it could not leave within its slot's tolerance, costs
      // a claim more. One whose lease was lost meanwhile is counted as lease_lost instead.
      slotMisses: sum(/^prestabot_outbound_messages_total\{[^}]*status="slot_missed"[^}]*\} (\S+)$/gm),
    };
  } catch {
    return {};
  }
};

// -- what the fake Graph API accepted ----------------------------------------------------------------

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
export const drain = async (
  graphUrl: string,
  acknowledged: number,
  drainTimeoutMs: number,
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

/** The replies the fake accepted, matched to the messages they answer by recipient, in order. */
export type AcceptedReplies = {
  /** Per message index, when the fake accepted the reply that answers it (NaN: none). */
  readonly replyAt: Float64Array;
  readonly replies: number;
  readonly unmatched: number;
  readonly graphErrors: Record<string, number>;
  readonly dropped: number;
};

/**
 * Sets, per message, when the reply that answers it was accepted (`repliesTo`: when each recipient's
 * replies were accepted). Each message gets one reply ("hola" is answered with the menu) and a person's
 * messages are answered in order, so the k-th reply to a sender answers their k-th message. Returns how
 * many replies went to no sender of the run.
 */
export const matchReplies = (
  repliesTo: ReadonlyMap<string, readonly number[]>,
  messagesOfSender: (phone: string) => readonly number[] | undefined,
  replyAt: Float64Array,
): number => {
  let unmatched = 0;
  for (const [phone, acceptedAt] of repliesTo) {
    const answered = messagesOfSender(phone);
    if (answered === undefined) {
      unmatched += acceptedAt.length;
      continue;
    }
    const inOrder = [...acceptedAt].sort((a, b) => a - b);
    for (const [k, index] of answered.entries()) {
      const at = inOrder[k];
      if (at !== undefined) replyAt[index] = at;
    }
  }
  return unmatched;
};

export const acceptedReplies = async (
  graphUrl: string,
  phoneNumberIds: readonly string[],
  total: number,
  messagesOfSender: (phone: string) => readonly number[] | undefined,
): Promise<AcceptedReplies> => {
  const replyAt = new Float64Array(total).fill(Number.NaN);
  let replies = 0;
  let unmatched = 0;
  const listing = await getJson<NumberListing>(`${graphUrl}/_fake/numbers`);
  const repliesTo = new Map<string, number[]>();
  for (const phoneNumberId of phoneNumberIds) {
    const { messages } = await getJson<{ messages: AcceptedJson[] }>(
      `${graphUrl}/_fake/numbers/${phoneNumberId}/messages`,
    );
    for (const message of messages) {
      if (message.message.type === 'mark_read') continue;
      replies += 1;
      const phone = message.recipient?.phone;
      if (phone === undefined) unmatched += 1;
      else {
        const accepted = repliesTo.get(phone);
        if (accepted === undefined) repliesTo.set(phone, [message.receivedAt]);
        else accepted.push(message.receivedAt);
      }
    }
  }
  unmatched += matchReplies(repliesTo, messagesOfSender, replyAt);
  const graphErrors: Record<string, number> = {};
  let dropped = 0;
  for (const number of listing.numbers) {
    dropped += number.stats.dropped;
    for (const [code, count] of Object.entries(number.stats.errors))
      graphErrors[code] = (graphErrors[code] ?? 0) + count;
  }
  return { replyAt, replies, unmatched, graphErrors, dropped };
};
