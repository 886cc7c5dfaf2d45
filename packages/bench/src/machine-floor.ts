#!/usr/bin/env node
// The machine's floor (not a test): what a system call and a loopback round trip cost here, and how much
// slower ordinary JavaScript runs right after a system call. Every webhook, statement and send costs the
// host a few system calls. On a machine that isolates the kernel's page tables (PTI) without PCID, each
// entry to the kernel empties the TLB, which would make the code that runs next slower: this measures that
// slowdown, not its cause. It prints what the host's per-request cost cannot go below, to read the other
// benchmarks against.
//
//   node packages/bench/dist/machine-floor.js [--rounds 3] [--json]

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { commandLine } from './command-line.ts';
import { runFixture } from './end-to-end/fixture.ts';
import { prepareWebhooks } from './end-to-end/load.ts';
import { round } from './end-to-end/sampling.ts';

const usage = 'usage: machine-floor [--rounds 3] [--json]';
const { read, wholeNumber } = commandLine('machine-floor', usage);
const options = read(
  () =>
    parseArgs({
      options: { rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
      strict: true,
    }).values,
);
const rounds = wholeNumber('--rounds', options.rounds, 1, 20);

const microseconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1000;
const cpuMicroseconds = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return { total: used.user + used.system, system: used.system };
};

const devNull = openSync('/dev/null', 'w');
const oneByte = Buffer.alloc(1);
const systemCall = () => writeSync(devNull, oneByte);

/** Microseconds per call of `step`, over `count` calls. */
const timed = (count: number, step: () => void): number => {
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) step();
  return microseconds(started) / count;
};

/**
 * Microseconds per call of `work` alone, each call timed on its own, with `between` run after each one
 * untimed: the same clock reads either way, so only what `between` leaves behind differs.
 */
const timedEach = (count: number, work: () => void, between: () => void = () => {}): number => {
  let total = 0n;
  for (let index = 0; index < count; index += 1) {
    const started = process.hrtime.bigint();
    work();
    total += process.hrtime.bigint() - started;
    between();
  }
  return Number(total) / 1000 / count;
};

// A webhook's own work in miniature: its signature and its JSON, on a webhook the load generator sends.
const fixture = runFixture(1);
const [webhook] = await prepareWebhooks(fixture, 1);
const body = webhook!.body;
const webhookWork = () => {
  createHmac('sha256', fixture.appSecret).update(body).digest('hex');
  JSON.parse(body.toString('utf8'));
};

/**
 * Ping-pong of 100 bytes with a Node echo process, over loopback TCP with no delay. The echo process ends
 * when this one closes its standard input, however this one ends.
 */
const loopbackRoundTrip = async (count: number) => {
  const echo = spawn(
    process.execPath,
    [
      '-e',
      "process.stdin.on('end', () => process.exit()).resume();" +
        "const s = require('node:net').createServer((c) => { c.setNoDelay(true); c.on('error', () => {}); c.on('data', (d) => c.write(d)); });" +
        "s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      echo.once('exit', (code) => reject(new Error(`the echo server exited with ${code}`)));
    });
    const socket: Socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    const message = Buffer.alloc(100, 1);
    let answered = 0;
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const broken = (error?: Error) =>
        reject(error ?? new Error('the echo server closed the connection before every answer came'));
      socket.once('error', broken);
      socket.once('close', () => broken());
      let pending = message.length;
      socket.on('data', (chunk: Buffer) => {
        pending -= chunk.length;
        if (pending > 0) return;
        answered += 1;
        if (answered === count) return resolve();
        pending = message.length;
        socket.write(message);
      });
      socket.write(message);
    });
    const wall = microseconds(started) / count;
    const used = cpuMicroseconds(cpu);
    socket.removeAllListeners('close');
    socket.destroy();
    return { wall, cpu: used.total / count, system: used.system / count };
  } finally {
    echo.stdin.end();
  }
};

const cpuFlags = (() => {
  try {
    return new Set(
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        ?.trim()
        .split(/\s+/),
    );
  } catch {
    return new Set<string>();
  }
})();
const meltdown = (() => {
  try {
    return readFileSync('/sys/devices/system/cpu/vulnerabilities/meltdown', 'utf8').trim();
  } catch {
    return 'unknown';
  }
})();

type Round = {
  clockReadUs: number;
  systemCallUs: number;
  workUs: number;
  workAfterSystemCallUs: number;
  slowerAfterSystemCallPercent: number;
  loopback: { wall: number; cpu: number; system: number };
};
const measured: Round[] = [];
timedEach(20_000, webhookWork); // warm-up: optimised before it is timed
for (let index = 0; index < rounds; index += 1) {
  const workUs = timedEach(50_000, webhookWork);
  const workAfterSystemCallUs = timedEach(50_000, webhookWork, systemCall);
  measured.push({
    // Read from the vDSO where the clock source allows: if this were a system call too, the work would
    // be timed after one in both loops.
    clockReadUs: timed(100_000, () => process.hrtime.bigint()),
    systemCallUs: timed(100_000, systemCall),
    workUs,
    workAfterSystemCallUs,
    slowerAfterSystemCallPercent: (100 * workAfterSystemCallUs) / workUs - 100,
    loopback: await loopbackRoundTrip(20_000),
  });
}
closeSync(devNull);

const range = (pick: (round: Round) => number, digits = 1) => {
  const values = measured.map(pick);
  const low = round(Math.min(...values), digits);
  const high = round(Math.max(...values), digits);
  return low === high ? `${low}` : `${low}–${high}`;
};
const summary = {
  benchmark: 'machine-floor',
  rounds,
  meltdownMitigation: meltdown,
  pcid: cpuFlags.has('pcid'),
  measured,
};
if (options.json) {
  console.log(JSON.stringify(summary));
} else {
  const rows: [string, string][] = [
    ['Meltdown mitigation (PTI); PCID', `${meltdown}; ${cpuFlags.has('pcid') ? 'yes' : 'no'}`],
    ['clock read (process.hrtime)', `${range((r) => r.clockReadUs, 2)} µs`],
    ['system call (1-byte write to /dev/null)', `${range((r) => r.systemCallUs, 2)} µs`],
    ['round trip to a Node echo process, wall', `${range((r) => r.loopback.wall)} µs`],
    [
      'the same, this process’s CPU (of it system)',
      `${range((r) => r.loopback.cpu)} µs (${range((r) => r.loopback.system)} µs)`,
    ],
    ['HMAC-SHA256 + JSON.parse of a webhook, alone', `${range((r) => r.workUs, 2)} µs`],
    ['the same, each right after a system call', `${range((r) => r.workAfterSystemCallUs, 2)} µs`],
    ['slower after a system call', `${range((r) => r.slowerAfterSystemCallPercent, 0)} %`],
  ];
  console.log(`machine floor, ${rounds} round(s)`);
  for (const [label, value] of rows) console.log(`${label.padEnd(46)} ${value}`);
}
