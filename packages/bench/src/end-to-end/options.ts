import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkServerUrl } from '@prestabot/adapters-postgres/testing';

const usage =
  'usage: end-to-end [--rate 2000] [--seconds 20] [--warm-up 5] [--ramp 0] [--tenants 100] [--workers 0] [--http-only] ' +
  '[--concurrency 64] [--number-rate 80] [--drain-timeout 60] [--database-server URL] [--cpu-prof-dir DIR] [--json] [--ack] ' +
  '[--no-statuses] [--status-step 100] [--sweep 100,200,400] [--trace FILE] [--senders N]';

/** What one run of the end-to-end benchmark was asked for, validated. */
export type EndToEndOptions = {
  /** `--ack`: measure the webhook acknowledgement instead of the whole path. */
  readonly ackOnly: boolean;
  readonly rate: number;
  readonly seconds: number;
  readonly warmUpSeconds: number;
  /**
   * `--ramp S`: the load rises linearly to the rate over the warm-up's first S seconds, as a load balancer's
   * slow start brings a new process in; by default it starts at the full rate, as on a restart under load.
   */
  readonly rampSeconds: number;
  readonly tenantCount: number;
  readonly workerCount: number;
  readonly concurrency: number;
  readonly numberRate: number;
  readonly drainTimeoutMs: number;
  /** `serve --no-worker`: the extra workers send every reply. */
  readonly httpOnly: boolean;
  /** Meta's status webhooks (sent, delivered, read), one POST each, for every reply the fake accepts. */
  readonly withStatuses: boolean;
  readonly statusStepMs: number;
  /** With --sweep, one run per rate (this program again, in JSON). */
  readonly sweepRates: readonly number[] | undefined;
  readonly serverUrl: string;
  readonly cpuProfDir: string | undefined;
  readonly jsonOnly: boolean;
  /**
   * `--trace FILE`: one CSV row per message (when its POST started, its acknowledgement, its status, when
   * the reply that answers it was accepted; milliseconds from the start of the load), to see when a tail
   * happened.
   */
  readonly traceFile: string | undefined;
  /** With --ack, webhooks kept apart for the closed-loop phase, each stored once (a duplicate is cheaper). */
  readonly closedLoopBodies: number;
  /** Every webhook the run prepares. */
  readonly total: number;
  /**
   * `--senders N`: how many people write, each always to the same number; by default one per message, each
   * a new contact. Fewer senders than the warm-up's messages measure returning contacts only.
   */
  readonly senders: number;
};

/** One line naming the bad value and the expected form; exit status 2. */
const badInput = (problem: string): never => {
  process.stderr.write(`end-to-end: ${problem}\n${usage}\n`);
  process.exit(2);
};

const parse = (args: readonly string[]) => {
  try {
    return parseArgs({
      args: [...args],
      options: {
        rate: { type: 'string' },
        seconds: { type: 'string', default: '20' },
        'warm-up': { type: 'string', default: '5' },
        ramp: { type: 'string', default: '0' },
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
        trace: { type: 'string' },
        senders: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return badInput(error instanceof Error ? error.message : String(error));
  }
};

/** The command line, checked; a bad value ends the process with status 2 and the usage. */
export const endToEndOptions = (args: readonly string[]): EndToEndOptions => {
  const parsed = parse(args);
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
  const rampSeconds = wholeNumber('ramp', 0, warmUpSeconds);
  if (ackOnly && rampSeconds > 0) badInput('--ramp shapes the end-to-end load: give it without --ack');
  const workerCount = wholeNumber('workers', 0, 16, ackOnly ? '1' : '0');
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
  if (parsed['http-only'] && workerCount === 0)
    badInput('--http-only needs --workers 1 or more (someone has to send the replies)');
  const cpuProfDir = parsed['cpu-prof-dir'] === undefined ? undefined : resolvePath(parsed['cpu-prof-dir']);
  if (cpuProfDir === '') badInput('--cpu-prof-dir must name a directory');
  if (parsed.trace === '') badInput('--trace must name a file');
  if (parsed.trace !== undefined && parsed.sweep !== undefined)
    badInput('--trace traces one run: give it without --sweep');
  const closedLoopBodies = ackOnly ? 40_000 : 0;
  const total = rate * (warmUpSeconds + seconds) + closedLoopBodies;
  if (total > 2_000_000)
    badInput(`--rate × (--warm-up + --seconds) is ${total} messages; at most 2,000,000 per run`);
  const tenantCount = wholeNumber('tenants', 1, 1000);
  const senders = parsed.senders === undefined ? total : wholeNumber('senders', 1, 99_999_999);
  if (parsed.senders !== undefined && senders % tenantCount !== 0)
    badInput(
      `--senders ${senders} must be a multiple of --tenants ${tenantCount}, so each person writes to one number`,
    );
  return {
    ackOnly,
    rate,
    seconds,
    warmUpSeconds,
    rampSeconds,
    tenantCount,
    workerCount,
    concurrency: wholeNumber('concurrency', 1, 4096),
    numberRate: wholeNumber('number-rate', 1, 1000),
    drainTimeoutMs: wholeNumber('drain-timeout', 1, 3600) * 1000,
    httpOnly: parsed['http-only'],
    withStatuses: !parsed['no-statuses'] && !ackOnly,
    statusStepMs: wholeNumber('status-step', 1, 60_000),
    sweepRates,
    serverUrl: benchmarkServerUrl(parsed['database-server']).match((url) => url, badInput),
    cpuProfDir,
    jsonOnly: parsed.json,
    traceFile: parsed.trace === undefined ? undefined : resolvePath(parsed.trace),
    closedLoopBodies,
    total,
    senders,
  };
};
