// From what a run recorded to the figures it prints: one JSON object (`--json`) or a table of rows.
import { percentile } from '@prestabot/application/testing';
import type { LoadRecord } from './load.ts';
import type { EndToEndOptions } from './options.ts';
import { type AcceptedReplies, type Cores, type Counters, round } from './sampling.ts';

/** Rows of label and value, the labels padded to one width. */
export const printTable = (rows: readonly (readonly [string, string])[]): void => {
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
};

export const sortedMs = (values: readonly number[]) => Float64Array.from(values).sort();

/** Counters read at both edges of the measured window. */
export type CounterWindow = { readonly from: Promise<Counters>; readonly to: Promise<Counters> };

/** How much each counter grew over the window (NaN when either end is missing). */
const growthOver = async (window: CounterWindow | undefined) => {
  const none: Counters = {};
  const [before, after] = await Promise.all([window?.from ?? none, window?.to ?? none]);
  return (key: string): number => (after[key] ?? Number.NaN) - (before[key] ?? Number.NaN);
};

/** The median of the window's first tenth against that of its last, so no one pause or burst decides it. */
const memoryOver = (rssMib: readonly number[]) => {
  const tenth = Math.max(1, Math.floor(rssMib.length / 10));
  const median = (values: readonly number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const first = median(rssMib.slice(0, tenth));
  const last = median(rssMib.slice(-tenth));
  return {
    firstTenthMib: round(first),
    lastTenthMib: round(last),
    maxMib: round(Math.max(...rssMib)),
    changePercent: round(((last - first) / first) * 100),
  };
};

export type RunRecord = {
  readonly load: LoadRecord;
  readonly replies: AcceptedReplies;
  readonly drained: { readonly drainedMs: number; readonly timedOut: boolean };
  readonly cpu: Cores | undefined;
  readonly idle: Cores;
  readonly postgres: CounterWindow | undefined;
  readonly hostMetrics: CounterWindow | undefined;
  /** The host's RSS, once a second through the window. */
  readonly hostRssMib: readonly number[];
  readonly hostLogLines: number;
};

export type EndToEndResult = Awaited<ReturnType<typeof endToEndResult>>;

/**
 * The measured window's figures: messages whose POST started in it, and first replies accepted in it. A
 * message acknowledged but never answered counts as an infinite latency, so losses show in the
 * percentiles too.
 */
export const endToEndResult = async (options: EndToEndOptions, run: RunRecord) => {
  const { load, replies } = run;
  const { seconds, warmUpSeconds } = options;
  const windowFrom = load.startAt + warmUpSeconds * 1000;
  const windowTo = windowFrom + seconds * 1000;
  const inWindow = (at: number) => at >= windowFrom && at < windowTo;
  const latencies: number[] = [];
  /** Messages whose POST started in the first seconds of load: what a process starting under load gives. */
  const coldLatencies: number[] = [];
  const coldAcks: number[] = [];
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
    const replyAt = replies.replyAt[index]!;
    const startedAt = load.startedAt[index]!;
    if (status !== 200) {
      non200 += 1;
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    } else if (Number.isNaN(replyAt)) {
      lost += 1;
      if (inWindow(startedAt)) lostMeasured += 1;
    }
    if (!Number.isNaN(replyAt) && inWindow(replyAt)) repliesInWindow += 1;
    const latencyMs = Number.isNaN(replyAt) ? Number.POSITIVE_INFINITY : replyAt - startedAt;
    if (startedAt < load.startAt + coldStartMs && status === 200) {
      coldAcks.push(load.ackMs[index]!);
      coldLatencies.push(latencyMs);
    }
    if (!inWindow(startedAt)) continue;
    postsInWindow += 1;
    acks.push(load.ackMs[index]!);
    clientLag.push(startedAt - load.scheduledAt[index]!);
    if (status === 200) latencies.push(latencyMs);
  }
  const latency = sortedMs(latencies);
  const coldLatency = sortedMs(coldLatencies);
  const coldAck = sortedMs(coldAcks);
  const ack = sortedMs(acks);
  const lag = sortedMs(clientLag);
  const throughput = repliesInWindow / seconds;
  const perMessage = (growth: number) =>
    Number.isFinite(growth) && postsInWindow > 0 ? round(growth / postsInWindow, 2) : null;
  const pgGrowth = await growthOver(run.postgres);
  const hostGrowth = await growthOver(run.hostMetrics);
  const pgPerMessage = (key: string) => perMessage(pgGrowth(key));
  const hostPerMessage = (key: string) => perMessage(hostGrowth(key));
  // The host's counters start with it, and it sends nothing before the load: at the window's start they
  // hold the warm-up's, where a process starting under load misses most.
  const warmUpSlotMisses = (await run.hostMetrics?.from)?.slotMisses;
  const { cpu } = run;
  const answered = replies.replyAt.filter((at) => !Number.isNaN(at)).length;
  return {
    benchmark: 'end-to-end',
    tenants: options.tenantCount,
    offeredRate: options.rate,
    seconds,
    warmUpSeconds,
    extraWorkers: options.workerCount,
    serveWorker: !options.httpOnly,
    concurrency: options.concurrency,
    numberRate: options.numberRate,
    storage: 'postgresql',
    messages: options.total,
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
    /** The first `coldStartMs` of load, warm-up included: latency and acknowledgement of those messages. */
    coldStart: {
      latencyP50: round(percentile(coldLatency, 50)),
      latencyMax: round(percentile(coldLatency, 100)),
      ackMax: round(percentile(coldAck, 100)),
    },
    non200,
    statuses,
    requestErrors: load.requestErrors,
    notSent: options.total - load.sent,
    lost,
    lostMeasured,
    replies: replies.replies,
    unmatchedReplies: replies.unmatched,
    repliesPerMessage: round(replies.replies / Math.max(1, answered), 2),
    graphErrors: replies.graphErrors,
    graphDropped: replies.dropped,
    drainMs: round(run.drained.drainedMs, 0),
    drainTimedOut: run.drained.timedOut,
    hostLogLines: run.hostLogLines,
    cpuCores: cpu,
    cpuMsPerMessage:
      cpu === undefined || postsInWindow === 0
        ? undefined
        : {
            hostAndWorkers: round(
              (((cpu.host ?? 0) + (cpu.workers ?? 0)) * 1000 * seconds) / postsInWindow,
              2,
            ),
            postgres: round(((cpu.postgres ?? 0) * 1000 * seconds) / postsInWindow, 2),
          },
    idleCpuCores: run.idle,
    postgres: {
      transactionsPerMessage: pgPerMessage('xactCommit'),
      rollbacksPerMessage: pgPerMessage('xactRollback'),
      rowsInsertedPerMessage: pgPerMessage('tupInserted'),
      rowsUpdatedPerMessage: pgPerMessage('tupUpdated'),
      rowsDeletedPerMessage: pgPerMessage('tupDeleted'),
      walRecordsPerMessage: pgPerMessage('walRecords'),
      walBytesPerMessage: pgPerMessage('walBytes'),
      // A page's first change after a checkpoint logs the whole page: random keys spread those over many pages.
      walFullPageImagesPerMessage: pgPerMessage('walFullPageImages'),
      walSyncsPerSecond: Number.isFinite(pgGrowth('walSync'))
        ? round(pgGrowth('walSync') / seconds, 0)
        : null,
    },
    hostDatabase: {
      webhooksPerMessage: hostPerMessage('webhooks'),
      statementsPerMessage: hostPerMessage('statements'),
      roundTripsPerMessage: hostPerMessage('roundTrips'),
      transactionsPerMessage: hostPerMessage('commits'),
      slotMissesPerMessage: hostPerMessage('slotMisses'),
      slotMissesInWarmUp: warmUpSlotMisses ?? null,
    },
    statusWebhooks: options.withStatuses,
    hostMemory: memoryOver(run.hostRssMib),
    pass:
      throughput >= 2000 &&
      percentile(latency, 99) <= 150 &&
      lost === 0 &&
      non200 === 0 &&
      Object.keys(replies.graphErrors).length === 0,
  };
};

/** The run message by message, for `--trace`: milliseconds from the start of the load, empty if never. */
export const traceRows = (run: Pick<RunRecord, 'load' | 'replies'>): string => {
  const { load, replies } = run;
  const fromStart = (at: number) => (Number.isNaN(at) ? '' : (at - load.startAt).toFixed(1));
  const rows = ['message,started_ms,ack_ms,status,reply_ms'];
  for (let index = 0; index < load.sent; index += 1)
    rows.push(
      [
        index,
        fromStart(load.startedAt[index]!),
        load.ackMs[index]!.toFixed(1),
        load.status[index],
        fromStart(replies.replyAt[index]!),
      ].join(','),
    );
  return `${rows.join('\n')}\n`;
};

/** How much of the start of the load counts as the cold start in the report. */
const coldStartMs = 2000;

/** The end-to-end run as a table. */
export const endToEndRows = (options: EndToEndOptions, result: EndToEndResult): [string, string][] => {
  const { cpuCores: cpu, cpuMsPerMessage, idleCpuCores: idle, postgres, hostDatabase, hostMemory } = result;
  const orInfinity = (value: number | null) => value ?? '∞';
  return [
    ['tenants / numbers', `${options.tenantCount} (Graph allows ${options.numberRate}/s each)`],
    [
      'processes',
      `serve${options.httpOnly ? ' --no-worker' : ''} + ${options.workerCount} worker(s), fake Graph${options.withStatuses ? ` (sent, delivered, read: a webhook each, ${options.statusStepMs} ms apart)` : ' (no statuses)'}, PostgreSQL`,
    ],
    [
      'offered',
      `${options.rate} msg/s, ${options.warmUpSeconds} s warm-up${options.rampSeconds > 0 ? ` (the first ${options.rampSeconds} s ramping up to the rate)` : ''} + ${options.seconds} s measured (${options.total} messages prepared)`,
    ],
    [
      'senders',
      options.senders >= options.total
        ? 'one per message, each a first contact'
        : `${options.senders}, each writing to one number every ${(options.senders / options.rate).toFixed(1)} s`,
    ],
    ['webhooks started/s (window)', String(result.postsPerSecondInWindow)],
    ['replies accepted/s (window)', `${result.throughput}`],
    [
      'latency p50 / p95 / p99 / max',
      `${[result.latencyMs.p50, result.latencyMs.p95, result.latencyMs.p99, result.latencyMs.max].map(orInfinity).join(' / ')} ms`,
    ],
    ['webhook ack p50 / p99 / max', `${result.ackMs.p50} / ${result.ackMs.p99} / ${result.ackMs.max} ms`],
    ['client start lag p99 / max', `${result.clientLagMs.p99} / ${result.clientLagMs.max} ms`],
    [
      `first ${coldStartMs / 1000} s of load${options.rampSeconds > 0 ? ' (ramping)' : ''}: latency p50 / max, ack max`,
      `${orInfinity(result.coldStart.latencyP50)} / ${orInfinity(result.coldStart.latencyMax)} / ${result.coldStart.ackMax} ms`,
    ],
    ['non-200 webhooks', `${result.non200}${result.non200 > 0 ? ` ${JSON.stringify(result.statuses)}` : ''}`],
    ['not sent (in-flight limit)', String(result.notSent)],
    ['acknowledged, no reply by the end', `${result.lost} (${result.lostMeasured} in the window)`],
    ['replies per message', String(result.repliesPerMessage)],
    ['Graph errors / dropped', `${JSON.stringify(result.graphErrors)} / ${result.graphDropped}`],
    ['drain after load', `${result.drainMs} ms${result.drainTimedOut ? ' (TIMED OUT)' : ''}`],
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
      `${postgres.transactionsPerMessage} xacts, ${postgres.rowsInsertedPerMessage} ins, ${postgres.rowsUpdatedPerMessage} upd, ${postgres.rowsDeletedPerMessage} del, ${postgres.walRecordsPerMessage} WAL records, ${postgres.walBytesPerMessage} WAL bytes (${postgres.walFullPageImagesPerMessage} full-page images); ${postgres.walSyncsPerSecond} WAL syncs/s`,
    ],
    [
      'host per message (its /metrics)',
      `${hostDatabase.webhooksPerMessage} webhooks, ${hostDatabase.statementsPerMessage} statements, ${hostDatabase.roundTripsPerMessage} round trips, ${hostDatabase.transactionsPerMessage} transactions, ${hostDatabase.slotMissesPerMessage} send slots missed (${hostDatabase.slotMissesInWarmUp} in the warm-up)${options.workerCount > 0 ? ' (the host only)' : ''}`,
    ],
    [
      'host memory (RSS, window)',
      `${hostMemory.firstTenthMib} MiB first tenth → ${hostMemory.lastTenthMib} MiB last tenth (${hostMemory.changePercent} %), max ${hostMemory.maxMib} MiB`,
    ],
    ['SPEC (≥ 2000/s, p99 ≤ 150 ms, nothing lost)', result.pass ? 'MET' : 'NOT MET'],
  ];
};
