#!/usr/bin/env node
// Every check the project holds itself to, in order: lint, the layer rules, build (type-checks every package), type-check
// the tests, then every test project (the end-to-end one last, a file at a time). Suites that need a real PostgreSQL take it from TEST_DATABASE_URL;
// when that is unset and a local server answers, this script creates a fresh database for the run and
// drops it afterwards. PRESTABOT_REQUIRE_POSTGRES=1 (set by CI) makes a missing server a failure.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const localServer = 'postgres://postgres@127.0.0.1:5432/postgres';

const run = (command, args, env = process.env) => {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

const withAdmin = async (url, work) => {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

const databaseUrl = (serverUrl, name) => {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
};

run('npx', ['biome', 'check', '.']);
run('node', ['scripts/check-layers.mjs']);
run('npx', ['tsc', '-b']);
run('npx', ['tsc', '-p', 'tsconfig.test.json']);

let env = { ...process.env };
let created;
if (!env.TEST_DATABASE_URL) {
  const server = env.TEST_POSTGRES_SERVER_URL ?? localServer;
  try {
    const name = `prestabot_test_${randomBytes(4).toString('hex')}`;
    await withAdmin(server, (client) => client.query(`CREATE DATABASE ${name}`));
    created = { server, name };
    env = { ...env, TEST_DATABASE_URL: databaseUrl(server, name) };
    console.log(`\nUsing a fresh database ${name} on ${new URL(server).host} for this run.`);
  } catch (error) {
    if (env.PRESTABOT_REQUIRE_POSTGRES === '1') {
      console.error(
        `PostgreSQL is required (PRESTABOT_REQUIRE_POSTGRES=1) but ${server} did not answer: ${error.message}`,
      );
      process.exit(1);
    }
    console.warn(
      `\nNo PostgreSQL at ${server} (${error.message}): the real-PostgreSQL suites will be skipped.`,
    );
  }
}

const dropCreated = async () => {
  if (created === undefined) return;
  await withAdmin(created.server, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${created.name} WITH (FORCE)`),
  );
};

const vitest = (args) => spawnSync('npx', ['vitest', 'run', ...args], { stdio: 'inherit', env }).status ?? 1;
const suites = vitest(['--project', 'unit', '--project', 'property', '--project', 'integration']);
// The end-to-end files measure real processes against real time: alone, one after the other.
const endToEnd = suites === 0 ? vitest(['--project', 'end-to-end']) : 1;
await dropCreated();
process.exit(suites !== 0 ? suites : endToEnd);
