#!/usr/bin/env node
// End-to-end throughput benchmark (not a test): inbound message to reply accepted by the fake Graph API.
//
// Process layout, as in production: this process plays Meta (it posts signed webhooks and measures), the
// fake Graph API runs in its own process, the real Node host (`prestabot serve`, plus `--workers N` extra
// `prestabot worker` processes) in its own, on a fresh database of a real PostgreSQL server, dropped at the
// end. Every webhook carries one text message ("hola"), by default from a sender nobody else uses (a first
// contact); with `--senders N`, message i comes from person i % N, a returning contact once they wrote
// before. Each message gets one reply, and a person's messages are answered in order, so the k-th reply
// the fake accepts for a recipient answers their k-th message. The latency of a message runs from the
// moment its POST started to the moment the fake accepted that reply.
//
//   node packages/bench/dist/end-to-end.js [--rate 2000] [--seconds 20] [--warm-up 5] [--ramp 0]
//     [--tenants 100] [--workers 0] [--http-only] [--concurrency 64] [--number-rate 80]
//     [--drain-timeout 60] [--database-server postgres://…] [--cpu-prof-dir DIR] [--json]
//     [--no-statuses] [--status-step 100] [--sweep 50,100,200] [--ack] [--trace FILE] [--senders N]
//
// The fake Graph API answers every accepted send with `sent`, `delivered` and `read` as signed webhooks
// (`--status-step` ms apart; `--no-statuses` for none), so one message is four webhooks, as in production.
// Each run prints, per message, PostgreSQL's transactions and WAL, the host's statements and round trips
// (its /metrics), host and PostgreSQL CPU, and the host's RSS over the window. `--sweep` runs each rate in
// turn and prints one row per rate and the highest one whose p99 ≤ 150 ms.
//
// SPEC §6 target: ≥ 2,000 messages/s across 100 tenants, p99 ≤ 150 ms.
//
// With --ack it measures the webhook acknowledgement instead (end-to-end/ack.ts). SPEC §6 target: ≥ 60 %
// of bare Express, p99 ≤ 25 ms at 1,000/s.
//
// The parts: options.ts (the command line), fixture.ts (numbers, secrets, senders), processes.ts (the
// deployment), load.ts (the webhooks offered), sampling.ts (CPU, memory, counters, replies), report.ts
// (the figures), and one file per kind of run: message-path.ts, ack.ts, sweep.ts.

import { fileURLToPath } from 'node:url';
import { runAck } from './end-to-end/ack.ts';
import { runFixture } from './end-to-end/fixture.ts';
import { runMessagePath } from './end-to-end/message-path.ts';
import { endToEndOptions } from './end-to-end/options.ts';
import { Deployment } from './end-to-end/processes.ts';
import { runSweep } from './end-to-end/sweep.ts';

const options = endToEndOptions(process.argv.slice(2));
const say = (line: string) => {
  if (!options.jsonOnly) process.stderr.write(`${line}\n`);
};

let exitCode = 0;
try {
  if (options.sweepRates !== undefined)
    await runSweep(fileURLToPath(import.meta.url), options.sweepRates, options.jsonOnly, say);
  else {
    const fixture = runFixture(options.tenantCount, options.senders);
    const deployment = new Deployment(options, fixture);
    try {
      await (options.ackOnly ? runAck : runMessagePath)(options, fixture, deployment, say);
    } finally {
      await deployment.cleanUp();
    }
  }
} catch (error) {
  process.stderr.write(
    `end-to-end: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  exitCode = 1;
}
process.exit(exitCode);
