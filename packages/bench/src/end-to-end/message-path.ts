// The whole path: Meta's webhook in, the reply accepted by the fake Graph API, and what it cost.
import { writeFile } from 'node:fs/promises';
import { messagesOfSender, type RunFixture } from './fixture.ts';
import { offerLoad, prepareWebhooks } from './load.ts';
import type { EndToEndOptions } from './options.ts';
import type { Deployment } from './processes.ts';
import { endToEndResult, endToEndRows, printTable, traceRows } from './report.ts';
import {
  acceptedReplies,
  type Counters,
  type CpuSample,
  coresBetween,
  drain,
  hostCounters,
  now,
  openPostgresCounters,
  type RunPids,
  rssMibOf,
  sampleCpu,
  sleep,
} from './sampling.ts';

type WindowEdge = {
  readonly cpu: CpuSample;
  readonly postgres: Promise<Counters>;
  readonly host: Promise<Counters>;
};

export const runMessagePath = async (
  options: EndToEndOptions,
  fixture: RunFixture,
  deployment: Deployment,
  say: (line: string) => void,
): Promise<void> => {
  const { rate, seconds, warmUpSeconds, tenantCount, workerCount } = options;
  say(
    `end-to-end: ${tenantCount} tenants, ${rate} msg/s offered for ${warmUpSeconds} s warm-up + ${seconds} s measured, ` +
      `${workerCount} extra worker(s)${options.httpOnly ? ', serve --no-worker' : ''}, concurrency ${options.concurrency}`,
  );
  const { fake, url, host, workers } = await deployment.start(workerCount);
  say(
    `database ${deployment.databaseName} migrated, ${tenantCount} tenants added; fake Graph API at ${fake.url}; ` +
      `host at ${url}; preparing ${options.total} signed webhooks`,
  );
  const prepared = await prepareWebhooks(fixture, options.total, options.rate);
  const pids: RunPids = {
    host: host.child.pid,
    workers: workers.map((worker) => worker.child.pid),
    fake: fake.process.child.pid,
  };
  // Two seconds without load: what the processes burn idle, and whether anything else is busy on the machine.
  const idleFrom = sampleCpu(pids);
  await sleep(2000);
  const idle = coresBetween(idleFrom, sampleCpu(pids));
  say(
    `idle for 2 s: host ${idle.host} cores, postgres ${idle.postgres}, machine ${idle.machineBusyPercent} % busy`,
  );

  // CPU and counters are read at the edges of the measured window (on timers, outside the hot path), and
  // the host's resident memory once a second through it: does it stay flat?
  const postgresCounters = openPostgresCounters(options.serverUrl, deployment.databaseName);
  const edge = (): WindowEdge => ({
    cpu: sampleCpu(pids),
    postgres: postgresCounters.read(),
    host: hostCounters(url),
  });
  const edges: { from?: WindowEdge; to?: WindowEdge } = {};
  const hostRssMib: number[] = [];
  const sampleMemory = () => hostRssMib.push(rssMibOf(host.child.pid));
  let rssTimer: ReturnType<typeof setInterval> | undefined;
  setTimeout(
    () => {
      edges.from = edge();
      sampleMemory();
      rssTimer = setInterval(sampleMemory, 1000);
    },
    warmUpSeconds * 1000 + 50,
  );
  setTimeout(
    () => {
      edges.to = edge();
      clearInterval(rssTimer);
    },
    (warmUpSeconds + seconds) * 1000 + 50,
  );
  say(`offering load from ${new Date(now()).toISOString()}`);
  const load = await offerLoad(url, prepared, {
    rate,
    durationMs: (warmUpSeconds + seconds) * 1000,
    concurrency: options.concurrency,
    rampMs: options.rampSeconds * 1000,
  });
  const acknowledged = load.status.reduce((sum, status) => sum + (status === 200 ? 1 : 0), 0);
  say(
    `load done in ${((load.endedAt - load.startAt) / 1000).toFixed(1)} s; waiting for the replies to drain`,
  );
  const drained = await drain(fake.url, acknowledged, options.drainTimeoutMs);
  const replies = await acceptedReplies(
    fake.url,
    fixture.numbers.map((number) => number.phoneNumberId),
    options.total,
    messagesOfSender(fixture, options.total, (index) => load.status[index] === 200),
  );
  if (options.traceFile !== undefined) {
    await writeFile(options.traceFile, traceRows({ load, replies }));
    say(`trace written to ${options.traceFile}`);
  }
  const { from, to } = edges;
  const result = await endToEndResult(options, {
    load,
    replies,
    drained,
    cpu: from === undefined || to === undefined ? undefined : coresBetween(from.cpu, to.cpu),
    idle,
    postgres: from === undefined || to === undefined ? undefined : { from: from.postgres, to: to.postgres },
    hostMetrics: from === undefined || to === undefined ? undefined : { from: from.host, to: to.host },
    hostRssMib,
    hostLogLines: host.lines + workers.reduce((sum, worker) => sum + worker.lines, 0),
  });
  postgresCounters.close();
  if (result.hostLogLines > 0)
    say(
      `host/worker output (last lines):\n${[host, ...workers].map((t) => t.output.split('\n').slice(-6).join('\n')).join('\n')}`,
    );
  if (options.jsonOnly) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printTable(endToEndRows(options, result));
};
