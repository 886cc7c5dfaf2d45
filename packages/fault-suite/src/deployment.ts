import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '@prestabot/fake-graph';
import pg from 'pg';
import type { PostgresCluster } from './postgres-cluster.ts';
import { type ManagedProcess, managedProcess } from './processes.ts';

const run = promisify(execFile);

const prestabotCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/host-express')));
const fakeGraphCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/fake-graph')));

export type DeployedNumber = { readonly phoneNumberId: string; readonly accessToken: string };

export type DeploymentShape = {
  /** `prestabot serve --no-worker` processes, each on its own port. */
  readonly hosts: number;
  /** `prestabot worker` processes. */
  readonly workers: number;
  /** Tenants, one number each. */
  readonly numbers: number;
  /** Messages per second Meta allows each number. */
  readonly numberRate: number;
  /** HTTP processes only store webhooks (`--ingest-only`): the workers do all processing and sending. */
  readonly ingestOnly?: boolean;
};

/**
 * The production layout on a fresh database of the suite's PostgreSQL: HTTP processes without a worker,
 * separate workers, the fake Graph API in its own process reporting sent/delivered/read for every
 * accepted reply as signed webhooks. Set up through the CLI, as an operator would.
 */
export type Deployment = {
  readonly numbers: readonly DeployedNumber[];
  readonly appSecret: string;
  readonly graphUrl: string;
  readonly hostUrls: readonly string[];
  readonly hosts: readonly ManagedProcess[];
  readonly workers: readonly ManagedProcess[];
  /** Runs `prestabot <args>` against this deployment's database; resolves with its standard output. */
  readonly cli: (...args: string[]) => Promise<string>;
  /** The fake Graph API's control API (`/_fake/…`). */
  readonly control: (method: string, path: string, body?: unknown) => Promise<unknown>;
  /** The output of every process, for a failed run's report. */
  readonly output: () => string;
  /** A query on the deployment's database as its owner: what became of a lost message. */
  readonly sql: (text: string, params: readonly unknown[]) => Promise<Record<string, unknown>[]>;
  readonly stop: () => Promise<void>;
};

const wabaId = '102290129340398';

export const deploy = async (
  cluster: PostgresCluster,
  scenario: string,
  shape: DeploymentShape,
): Promise<Deployment> => {
  const databaseUrl = await cluster.createDatabase(`faults_${scenario.replaceAll('-', '_')}`);
  const appSecret = randomBytes(16).toString('hex');
  const runTag = String(Date.now() % 100_000).padStart(5, '0');
  const numbers = Array.from({ length: shape.numbers }, (_, index) => ({
    phoneNumberId: `1099${runTag}${String(index).padStart(4, '0')}`,
    accessToken: `EAAfaults${randomBytes(12).toString('hex')}`,
  }));
  const hostPorts = await Promise.all(Array.from({ length: shape.hosts }, () => freeLoopbackPort()));
  const hostUrls = hostPorts.map((port) => `http://127.0.0.1:${port}`);
  const env = {
    DATABASE_URL: databaseUrl,
    META_APP_SECRET: appSecret,
    WHATSAPP_VERIFY_TOKEN: randomBytes(8).toString('hex'),
    PRESTABOT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'info',
  };
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [prestabotCli, ...args], { env: { ...process.env, ...env } })).stdout;
  await cli('migrate');
  for (const [index, number] of numbers.entries())
    await cli(
      'tenants',
      'add',
      '--name',
      `Fault tenant ${index + 1}`,
      '--phone-number-id',
      number.phoneNumberId,
      '--access-token',
      number.accessToken,
      '--waba-id',
      wabaId,
      '--rate',
      String(shape.numberRate),
    );

  const fake = managedProcess(
    'fake-graph',
    [
      fakeGraphCli,
      '--no-pair-limit',
      '--webhook-url',
      `${hostUrls[0]}/webhook`,
      '--app-secret',
      appSecret,
      '--auto-statuses',
      '50',
      '--status-per-webhook',
      ...numbers.flatMap((number) => [
        '--number',
        `${number.phoneNumberId}:${number.accessToken}:${shape.numberRate}`,
      ]),
    ],
    {},
    /"url":"[^"]+"/,
  );
  await fake.start();
  const graphUrl = /"url":"([^"]+)"/.exec(fake.output())?.[1] ?? '';
  const processEnv = { ...env, META_GRAPH_URL: graphUrl };
  const hosts = hostPorts.map((port, index) =>
    managedProcess(
      `host-${index + 1}`,
      [
        prestabotCli,
        'serve',
        '--no-worker',
        ...(shape.ingestOnly === true ? ['--ingest-only'] : []),
        '--port',
        String(port),
      ],
      processEnv,
      /listening on/,
    ),
  );
  const workers = Array.from({ length: shape.workers }, (_, index) =>
    managedProcess(`worker-${index + 1}`, [prestabotCli, 'worker'], processEnv, /worker running/),
  );
  await Promise.all([...hosts, ...workers].map((process) => process.start()));
  const everyProcess = [fake, ...hosts, ...workers];
  return {
    numbers,
    appSecret,
    graphUrl,
    hostUrls,
    hosts,
    workers,
    cli,
    control: async (method, path, body) => {
      const response = await fetch(`${graphUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok)
        throw new Error(`fake ${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    output: () => everyProcess.map((process) => `--- ${process.name}\n${process.output()}`).join('\n'),
    sql: async (text, params) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query(text, [...params])).rows;
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      await Promise.all([...hosts, ...workers].map((process) => process.stop()));
      await fake.stop();
    },
  };
};
