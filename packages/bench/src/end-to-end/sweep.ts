// `--sweep`: one run per rate, each this program again with --json; then the highest rate whose
// p99 ≤ 150 ms with nothing lost.
import { spawn } from 'node:child_process';
import type { EndToEndResult } from './report.ts';

/** What the table reads of a run (its JSON, as `endToEndResult` made it). */
type Run = Pick<
  EndToEndResult,
  | 'throughput'
  | 'latencyMs'
  | 'lost'
  | 'non200'
  | 'cpuCores'
  | 'cpuMsPerMessage'
  | 'postgres'
  | 'hostDatabase'
  | 'hostMemory'
>;

const meets = (run: Run | undefined) =>
  run !== undefined &&
  run.latencyMs.p99 !== null &&
  run.latencyMs.p99 <= 150 &&
  run.lost === 0 &&
  run.non200 === 0;

/** The table's columns: a heading, and each run's value (per message: `/m`). */
const columns: [string, (run: Run, rate: number) => number | string | null | undefined][] = [
  ['rate', (_, rate) => rate],
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

/** This program's own arguments without --sweep, plus `--rate <rate> --json`; its last line of output. */
const runAt = (entry: string, args: readonly string[], rate: number): Promise<Run | undefined> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [entry, ...args, '--rate', String(rate), '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once('exit', () => {
      const last = text.trim().split('\n').at(-1);
      done(last === undefined || last === '' ? undefined : (JSON.parse(last) as Run));
    });
  });

export const runSweep = async (
  entry: string,
  rates: readonly number[],
  jsonOnly: boolean,
  say: (line: string) => void,
): Promise<void> => {
  const args = process.argv
    .slice(2)
    .filter((arg, index, all) => arg !== '--sweep' && all[index - 1] !== '--sweep');
  const results: { rate: number; result: Run | undefined }[] = [];
  for (const rate of rates) {
    say(`sweep: ${rate} msg/s`);
    results.push({ rate, result: await runAt(entry, args, rate) });
  }
  const best = results.filter(({ result }) => meets(result)).at(-1);
  if (jsonOnly) {
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'end-to-end sweep', runs: results, highestRateMeetingP99: best?.rate ?? null })}\n`,
    );
    return;
  }
  const rows = results.map(({ rate, result }) =>
    result === undefined
      ? `${line([rate])}  (the run failed)`
      : line(columns.map(([, value]) => value(result, rate))),
  );
  process.stdout.write(
    `${line(columns.map(([heading]) => heading))}\n${rows.join('\n')}\n` +
      `highest rate meeting p99 ≤ 150 ms with nothing lost: ${best === undefined ? 'none' : `${best.rate} msg/s`}\n`,
  );
};
