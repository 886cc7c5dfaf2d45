// The webhook acknowledgement alone (`--ack`): `serve --no-worker --ingest-only` verifies and stores each
// webhook before its 200 and processes nothing. Measured closed loop against bare Express 5 in the same
// run, then open loop at --rate; then workers start and drain the backlog, as after an outage.
import { percentile } from '@prestabot/application/testing';
import type { RunFixture } from './fixture.ts';
import { offerLoad, prepareWebhooks, saturate } from './load.ts';
import type { EndToEndOptions } from './options.ts';
import type { Deployment } from './processes.ts';
import { printTable, sortedMs } from './report.ts';
import { now, round, sleep } from './sampling.ts';

export const runAck = async (
  options: EndToEndOptions,
  fixture: RunFixture,
  deployment: Deployment,
  say: (line: string) => void,
): Promise<void> => {
  const { rate, seconds, warmUpSeconds, concurrency, workerCount, closedLoopBodies } = options;
  say(
    `webhook ack: ${options.tenantCount} tenants; closed loop with ${concurrency} in flight, then ${rate}/s offered for ${warmUpSeconds} s warm-up + ${seconds} s`,
  );
  // Processing is deferred: the workers start once acknowledgement is measured, and drain the backlog.
  const { url, env } = await deployment.start(0);
  const bareUrl = await deployment.startBareExpress();
  say(
    `host at ${url} (serve --no-worker --ingest-only), bare Express at ${bareUrl}; preparing ${options.total} signed webhooks`,
  );
  const prepared = await prepareWebhooks(fixture, options.total);
  const closedLoop = prepared.slice(0, closedLoopBodies);
  // Warm both up, then measure each for `seconds` (at most 10), bare Express first.
  const phaseMs = Math.min(seconds, 10) * 1000;
  await saturate(bareUrl, closedLoop, { ms: 2000, reuse: true, concurrency });
  const bare = await saturate(bareUrl, closedLoop, { ms: phaseMs, reuse: true, concurrency });
  const hostWarmUp = await saturate(url, closedLoop, { ms: 2000, reuse: false, concurrency });
  const host = await saturate(url, closedLoop.slice(hostWarmUp.used), {
    ms: phaseMs,
    reuse: false,
    concurrency,
  });
  say(`closed loop: bare Express ${Math.round(bare.perSecond)}/s, host ${Math.round(host.perSecond)}/s`);
  const load = await offerLoad(url, prepared.slice(closedLoopBodies), {
    rate,
    durationMs: (warmUpSeconds + seconds) * 1000,
    concurrency,
  });
  const windowFrom = load.startAt + warmUpSeconds * 1000;
  const acks: number[] = [];
  let non200 = 0;
  for (let index = 0; index < load.sent; index += 1) {
    if (load.status[index] !== 200) non200 += 1;
    else if (load.startedAt[index]! >= windowFrom) acks.push(load.ackMs[index]!);
  }
  const ack = sortedMs(acks);
  const windowSeconds = (load.endedAt - windowFrom) / 1000;
  const backlog = await deployment.unprocessedEntries();
  say(`acknowledged and stored; ${backlog} messages wait for processing: starting ${workerCount} worker(s)`);
  const drainStarted = now();
  deployment.startWorkers(env, workerCount);
  let left = backlog;
  while (left > 0 && now() - drainStarted < options.drainTimeoutMs) {
    await sleep(500);
    left = await deployment.unprocessedEntries();
  }
  const drainSeconds = (now() - drainStarted) / 1000;
  const result = {
    benchmark: 'webhook-ack',
    tenants: options.tenantCount,
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
  if (options.jsonOnly) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  printTable([
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
  ]);
};
