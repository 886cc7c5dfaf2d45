// The deployment under load, laid out as in production: the fake Graph API in its own process, the real
// Node host (`prestabot serve`) and any `prestabot worker`s in theirs, on a fresh database of a real
// PostgreSQL server, dropped at the end.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPostgresStorage, type PostgresStorage } from '@prestabot/adapters-postgres';
import { createTestDatabase, type TestDatabase } from '@prestabot/adapters-postgres/testing';
import { createAesGcmSecretCipher } from '@prestabot/adapters-webcrypto';
import { ManageTenants } from '@prestabot/application';
import type { ResultAsync } from '@prestabot/domain';
import { freeLoopbackPort } from '@prestabot/fake-graph';
import { request } from 'undici';
import type { RunFixture } from './fixture.ts';
import type { EndToEndOptions } from './options.ts';
import { sleep } from './sampling.ts';

/** A child whose output is kept (its last 64 kB) for failure messages and counted for the report. */
export type Tracked = { readonly child: ChildProcess; readonly name: string; output: string; lines: number };

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
const stopChild = (child: ChildProcess, graceMs: number): Promise<void> => {
  if (!alive(child)) return Promise.resolve();
  return new Promise((done) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      done();
    });
    child.kill('SIGTERM');
  });
};

const unwrap = async <T, E>(result: ResultAsync<T, E>, what: string): Promise<T> => {
  const settled = await result;
  if (settled.isErr()) throw new Error(`${what}: ${JSON.stringify(settled.error)}`);
  return settled.value;
};

const hostCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/host-express')));
const fakeGraphCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@prestabot/fake-graph')));
const bareExpress = fileURLToPath(new URL('../bare-express.js', import.meta.url));

export type StartedHost = {
  readonly fake: { readonly url: string; readonly process: Tracked };
  readonly url: string;
  readonly host: Tracked;
  readonly workers: Tracked[];
  readonly env: NodeJS.ProcessEnv;
};

/** Every process and the database of one run; `cleanUp` stops and drops them all, once. */
export class Deployment {
  private readonly children: Tracked[] = [];
  private database: TestDatabase | undefined;
  private cleaning: Promise<void> | undefined;
  private readonly options: EndToEndOptions;
  private readonly fixture: RunFixture;

  constructor(options: EndToEndOptions, fixture: RunFixture) {
    this.options = options;
    this.fixture = fixture;
    process.once('exit', () => {
      for (const { child } of this.children) if (alive(child)) child.kill('SIGKILL');
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`end-to-end: ${signal}, cleaning up\n`);
        void this.cleanUp().finally(() => process.exit(130));
      });
    }
  }

  get databaseName(): string {
    return this.requireDatabase().name;
  }

  cleanUp(): Promise<void> {
    this.cleaning ??= (async () => {
      // The host and workers first (they finish what they hold), then the fake they send to.
      const [fake, ...rest] = this.children;
      await Promise.all(rest.map(({ child }) => stopChild(child, 15_000)));
      if (fake !== undefined) await stopChild(fake.child, 5000);
      await this.database?.drop().catch((error: unknown) => {
        process.stderr.write(
          `end-to-end: could not drop database ${this.database?.name}: ${String(error)}\n`,
        );
      });
    })();
    return this.cleaning;
  }

  /**
   * The whole deployment: the fake (told the host's port before the host listens, for its status
   * webhooks), a fresh database with its tenants, then the host beside `workersBeside` workers.
   */
  async start(workersBeside: number): Promise<StartedHost> {
    const hostPort = await freeLoopbackPort();
    const fake = await this.startFake(`http://127.0.0.1:${hostPort}`);
    await this.prepareDatabase();
    return this.startHost(fake, hostPort, workersBeside);
  }

  /** The fake, which reports sent, delivered and read to the host for every reply it accepts unless --no-statuses. */
  private startFake(hostUrl: string): Promise<{ url: string; process: Tracked }> {
    const { options, fixture } = this;
    return this.startListener('the fake Graph API', [
      // A larger young generation: fewer collection pauses in the fake, whose pauses would read as latency.
      '--max-semi-space-size=64',
      fakeGraphCli,
      '--no-pair-limit',
      ...(options.withStatuses
        ? [
            '--webhook-url',
            `${hostUrl}/webhook`,
            '--app-secret',
            fixture.appSecret,
            '--auto-statuses',
            String(options.statusStepMs),
            '--status-per-webhook',
          ]
        : []),
      ...fixture.numbers.flatMap((number) => [
        '--number',
        `${number.phoneNumberId}:${number.accessToken}:${options.numberRate}:${fixture.wabaId}`,
      ]),
    ]);
  }

  /** A bare Express 5 server that only reads the body: the acknowledgement's baseline. */
  async startBareExpress(): Promise<string> {
    return (await this.startListener('bare Express', [bareExpress])).url;
  }

  /** A fresh database, migrated, with one tenant (and number) per `--tenants`. */
  private async prepareDatabase(): Promise<void> {
    const { options, fixture } = this;
    this.database = await createTestDatabase(options.serverUrl);
    const cipher = await unwrap(
      createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: fixture.encryptionKey }),
      'cannot make the cipher',
    );
    const storage: PostgresStorage = await unwrap(
      createPostgresStorage({ databaseUrl: this.database.url, cipher }),
      'cannot open the database',
    );
    try {
      await unwrap(storage.migrate(), 'cannot migrate');
      const manage = new ManageTenants({ ...storage, cipher, ids: { uuid: () => crypto.randomUUID() } });
      const { numbers } = fixture;
      for (let first = 0; first < numbers.length; first += 10) {
        await Promise.all(
          numbers.slice(first, first + 10).map((number, offset) =>
            unwrap(
              manage.addTenant({
                name: `Bench tenant ${first + offset + 1}`,
                phoneNumberId: number.phoneNumberId,
                accessToken: number.accessToken,
                wabaId: fixture.wabaId,
                ratePerSecond: options.numberRate,
              }),
              `cannot add tenant ${number.phoneNumberId}`,
            ),
          ),
        );
      }
    } finally {
      await storage.close();
    }
  }

  /** `prestabot worker` processes beside the host. */
  startWorkers(env: NodeJS.ProcessEnv, count: number): Tracked[] {
    return Array.from({ length: count }, (_, index) =>
      this.spawnTracked(`worker-${index + 1}`, [hostCli, 'worker'], env),
    );
  }

  /** `prestabot serve` (and `workersBeside` workers), once its /healthz answers. */
  private async startHost(
    fake: StartedHost['fake'],
    port: number,
    workersBeside: number,
  ): Promise<StartedHost> {
    const { options, fixture } = this;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: this.requireDatabase().url,
      PORT: String(port),
      META_APP_SECRET: fixture.appSecret,
      WHATSAPP_VERIFY_TOKEN: fixture.verifyToken,
      PRESTABOT_ENCRYPTION_KEY: fixture.encryptionKey,
      META_GRAPH_URL: fake.url,
      LOG_LEVEL: 'warn',
    };
    const workers = this.startWorkers(env, workersBeside);
    const host = this.spawnTracked(
      'host',
      [
        hostCli,
        'serve',
        '--port',
        String(port),
        ...(options.httpOnly || options.ackOnly ? ['--no-worker'] : []),
        // Acknowledgement alone: the host only verifies and stores, a worker processes.
        ...(options.ackOnly ? ['--ingest-only'] : []),
      ],
      env,
    );
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    // LOG_LEVEL=warn hides the "listening" line: ask /healthz until it answers.
    while (true) {
      for (const tracked of [host, ...workers])
        if (!alive(tracked.child))
          throw new Error(
            `${tracked.name} exited with ${tracked.child.exitCode} before the run:\n${tracked.output}`,
          );
      try {
        const response = await request(`${url}/healthz`);
        await response.body.dump();
        if (response.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`the host did not answer /healthz within 90 s:\n${host.output}`);
      await sleep(100);
    }
    return { fake, url, host, workers, env };
  }

  /** Inbox entries stored and not processed yet, through psql. */
  unprocessedEntries(): Promise<number> {
    const databaseUrl = new URL(this.options.serverUrl);
    databaseUrl.pathname = `/${this.databaseName}`;
    return new Promise((resolve) => {
      execFile(
        'psql',
        [
          databaseUrl.toString(),
          '-At',
          '-c',
          'SELECT count(*) FROM prestabot.inbox WHERE processed_at IS NULL',
        ],
        { encoding: 'utf8' },
        (error, stdout) => resolve(error === null ? Number(stdout.trim()) : Number.NaN),
      );
    });
  }

  private requireDatabase(): TestDatabase {
    if (this.database === undefined) throw new Error('start() has not run');
    return this.database;
  }

  /** Starts a Node program that prints `{"url": …}` once it listens; resolves with the URL. */
  private async startListener(
    name: string,
    args: readonly string[],
  ): Promise<{ url: string; process: Tracked }> {
    const tracked = this.track(name, spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const line = await new Promise<string>((resolve, reject) => {
      tracked.child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      tracked.child.once('exit', (code) =>
        reject(new Error(`${name} exited with ${code}: ${tracked.output}`)),
      );
    });
    return { url: (JSON.parse(line) as { url: string }).url, process: tracked };
  }

  /** A host or worker process, profiled into --cpu-prof-dir when asked. */
  private spawnTracked(name: string, args: readonly string[], env: NodeJS.ProcessEnv): Tracked {
    const { cpuProfDir } = this.options;
    const profile =
      cpuProfDir === undefined
        ? []
        : [
            '--cpu-prof',
            `--cpu-prof-dir=${cpuProfDir}`,
            `--cpu-prof-name=${name}.${this.fixture.runId}.cpuprofile`,
          ];
    return this.track(
      name,
      spawn(process.execPath, [...profile, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  private track(name: string, child: ChildProcess): Tracked {
    const tracked: Tracked = { child, name, output: '', lines: 0 };
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      tracked.lines += text.split('\n').length - 1;
      tracked.output = (tracked.output + text).slice(-65_536);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.children.push(tracked);
    return tracked;
  }
}
