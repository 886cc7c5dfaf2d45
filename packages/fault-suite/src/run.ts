#!/usr/bin/env node
// The fault suite (`pnpm test:faults`): each scenario deploys PrestaBot as in production on a fresh
// database of a PostgreSQL server of its own (`serve --no-worker`, two `worker`s, the fake Graph API),
// plays Meta against it while injecting faults, and counts what every sender got back.
//
//   node packages/fault-suite/dist/run.js [--size ci|full] [--scenario NAME …] [--json]
//
// It prints one row per scenario and exits 1 if any fails: a message lost, a 5xx to a signed payload
// (a 503 while the database restarts is the answer SPEC §5 asks for, so Meta retries), or more than
// 0.1 % duplicate replies.
import { parseArgs } from 'node:util';
import { startPostgresCluster } from './postgres-cluster.ts';
import { runScenario, scenarioNames, sizes } from './scenarios.ts';
import type { Figures } from './tally.ts';
import { verdictOf } from './verdict.ts';

const usage = `usage: fault-suite [--size ci|full] [--scenario ${scenarioNames.join('|')} …] [--json]`;

const badInput = (problem: string): never => {
  process.stderr.write(`fault-suite: ${problem}\n${usage}\n`);
  process.exit(2);
};

const options = (() => {
  try {
    return parseArgs({
      options: {
        size: { type: 'string', default: 'ci' },
        scenario: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return badInput(error instanceof Error ? error.message : String(error));
  }
})();

const size =
  options.size === 'ci' || options.size === 'full'
    ? sizes[options.size]
    : badInput(`--size ${JSON.stringify(options.size)} must be ci or full`);
const chosen = options.scenario.length === 0 ? scenarioNames : options.scenario;
for (const name of chosen)
  if (!scenarioNames.includes(name))
    badInput(`--scenario ${JSON.stringify(name)} must be one of ${scenarioNames.join(', ')}`);

const say = (line: string) => process.stdout.write(`${line}\n`);
const cluster = await startPostgresCluster();
const figures: Figures[] = [];
try {
  for (const name of chosen) {
    if (!options.json) say(`running ${name} (${size.rate} msg/s for ${size.seconds} s)…`);
    figures.push(await runScenario(name, cluster, size));
  }
} finally {
  await cluster.stop();
}

const verdicts = figures.map(verdictOf);
if (options.json) say(JSON.stringify(figures.map((row, index) => ({ ...row, problems: verdicts[index] }))));
else {
  const ms = (value: number | undefined) => (value === undefined ? '—' : `${Math.round(value)}`);
  say('');
  say(
    '| scenario | messages | lost | duplicates | 5xx (signed, well-formed) | 5xx (fuzzed) | no answer | recovery ms | p50 ms | p99 ms | verdict |',
  );
  say('| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |');
  figures.forEach((row, index) => {
    const problems = verdicts[index]!;
    say(
      `| ${row.scenario} | ${row.messages} | ${row.lost} | ${row.duplicates} | ${row.serverErrors} | ${row.fuzzServerErrors} | ${row.refused} | ${ms(row.recoveryMs)} | ${ms(row.p50DelayMs)} | ${ms(row.p99DelayMs)} | ${problems.length === 0 ? 'pass' : `FAIL: ${problems.join('; ')}`} |`,
    );
  });
  for (const row of figures) for (const note of row.notes) say(`${row.scenario}: ${note}`);
}
process.exit(verdicts.every((problems) => problems.length === 0) ? 0 : 1);
