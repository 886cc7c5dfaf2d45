import {
  describeFlowKeyError,
  type FlowPrivateKey,
  GraphBusinessEncryption,
  GraphClient,
  GraphNumberView,
  type HmacSha256,
  importFlowPrivateKey,
  metaAdaptersModule,
  SignedFlowTokens,
} from '@prestabot/adapters-meta';
import {
  createPostgresStorage,
  type DatabaseLogin,
  type MigrationReport,
  type PostgresStorage,
  type PostgresStorageOptions,
  postgresStorageModule,
} from '@prestabot/adapters-postgres';
import { createAesGcmSecretCipher } from '@prestabot/adapters-webcrypto';
import {
  type ChooseResponders,
  type Clock,
  type Logger,
  type ManageTemplates,
  type ManageTenants,
  type Metrics,
  portTokens,
  type ReportUsage,
  ResealSecrets,
  type SecretCipher,
  type StorageError,
  type StoragePorts,
  SyncNumbers,
} from '@prestabot/application';
import { defined, errAsync, ok, okAsync, ResultAsync, safeTry } from '@prestabot/domain';
import { Container } from 'inversify';
import { assembleBot, type Bot } from './bot.ts';
import type { Config } from './config.ts';
import { databaseClockOf } from './database-clock.ts';
import { runtimeLoginWarning } from './database-login.ts';
import { FlowKeyAdmin } from './flows/flow-key-admin.ts';
import { defaultFlowKeyGraceMs, FlowKeyRing } from './flows/flow-key-ring.ts';
import { flowTokenSecret } from './flows/flow-token-secret.ts';
import { createFlowsEndpoint } from './flows/flows-endpoint.ts';
import type { HealthReport } from './http/web-handler.ts';
import {
  platformModule,
  resolve,
  routingCacheTtlMs,
  runtimeTokens,
  systemClock,
  useCasesModule,
} from './wiring.ts';
import { defaultInboxWorkerOptions } from './worker/inbox-worker.ts';

/** Why the process cannot start: a line for the operator, and whether it is their input (exit 2). */
export type StartupError = { readonly type: 'configuration' | 'storage'; readonly message: string };

/** What the operator's commands run: the admin use cases, wired once like everything else. */
export type Admin = {
  readonly tenants: ManageTenants;
  readonly templates: ManageTemplates;
  readonly usage: ReportUsage;
  readonly secrets: ResealSecrets;
};

export type OpenBot = {
  readonly config: Config;
  readonly admin: Admin;
  readonly storage: PostgresStorage;
  readonly bot: Bot;
  readonly logger: Logger;
  /** The operator's Flows keys (`prestabot flows …`). */
  readonly flowKeys: FlowKeyAdmin;
  /** Meta's view of each number (`prestabot numbers sync`, and the worker's daily sync). */
  readonly numberSync: SyncNumbers;
  /** Who DATABASE_URL logs in as (`serve`, `worker`); undefined for the embedded database. */
  readonly runtimeLogin: () => ResultAsync<DatabaseLogin | undefined, StorageError>;
  /** Stops the workers (finishing what they hold), then closes Graph connections and the database. */
  readonly close: () => Promise<void>;
};

export type OpenOptions = {
  /** This process in leases: host, pid and a random part. */
  readonly owner: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Keeps work going after the response (see `BotOptions`). */
  readonly runAfterResponse: (work: Promise<unknown>) => void;
  /** Apply pending migrations first (the embedded database, `serve`, `demo`). */
  readonly migrate: boolean;
  /**
   * `runtime` (default: `serve`, `worker`): DATABASE_URL, migrating over DATABASE_MIGRATION_URL when set,
   * and a warning when DATABASE_URL's role can leave row-level security. `admin` (migrations and the admin
   * commands): DATABASE_MIGRATION_URL when set, else DATABASE_URL.
   */
  readonly login?: 'runtime' | 'admin';
  /** Absent: the database's clock, read through this machine's (`databaseClockOf`). */
  readonly clock?: Clock;
  /** The host's HMAC-SHA256 for webhook signatures, when it has a faster one than WebCrypto's. */
  readonly hmac?: HmacSha256;
  /**
   * Store webhooks for the workers' claims instead of processing them here (`serve --ingest-only`): the
   * HTTP process then does nothing but verify and store.
   */
  readonly ingestOnly?: boolean;
  /** The embedding application's responders, given the loan bot's (default: the loan bot's). */
  readonly responders?: ChooseResponders;
  /** A pool the embedding application owns, used instead of `DATABASE_URL` and left open at close. */
  readonly pool?: PostgresStorageOptions['pool'];
  /** See `BotOptions.slotsWhileProcessing` (default on). */
  readonly slotsWhileProcessing?: boolean;
  /** See `BotOptions.processWhileStoring` (default on). */
  readonly processWhileStoring?: boolean;
  /**
   * Open the pool's connections and have the server compile the message path on each before the bot is
   * returned (`serve`, `worker`): otherwise the first second of traffic pays for it while webhooks wait.
   * The connections then stay open while idle, so the first burst after a quiet spell (reminders at the
   * send hour, a morning's first messages) does not pay for it again.
   */
  readonly warmUp?: boolean;
};

const allOfTheLoanBot: ChooseResponders = (loanBot) => loanBot;

/** `FLOWS_PRIVATE_KEY`, checked at start-up so a bad key stops the process with the fix, not a 421 later. */
const deploymentFlowsKey = (config: Config): ResultAsync<FlowPrivateKey | undefined, StartupError> =>
  config.flowsPrivateKey === undefined
    ? okAsync(undefined)
    : importFlowPrivateKey(config.flowsPrivateKey).mapErr(
        (error): StartupError => ({
          type: 'configuration',
          message: `FLOWS_PRIVATE_KEY ${describeFlowKeyError(error)}`,
        }),
      );

/** The keys the deployment's configuration names, checked: the secret cipher's and the Flows key. */
const deploymentKeys = (
  config: Config,
): ResultAsync<{ cipher: SecretCipher; flowsKey: FlowPrivateKey | undefined }, StartupError> =>
  createAesGcmSecretCipher({
    PRESTABOT_ENCRYPTION_KEY: config.encryptionKeys.current,
    PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: config.encryptionKeys.previous,
  })
    .mapErr((error): StartupError => ({ type: 'configuration', message: error.message }))
    .andThen((cipher) => deploymentFlowsKey(config).map((flowsKey) => ({ cipher, flowsKey })));

/**
 * The bot over storage the embedding application opened and keeps (any that passes the storage contract
 * suites): no migrations, no login check, and the clock the application gives (this machine's by default).
 */
export const wireBotOn = (
  config: Config,
  storage: StoragePorts,
  options: Omit<WireParts, 'storage' | 'cipher' | 'clock' | 'flowsKey'> & { readonly clock?: Clock },
): ResultAsync<WiredBot, StartupError> =>
  deploymentKeys(config).andThen(({ cipher, flowsKey }) =>
    ResultAsync.fromSafePromise(
      wireBot(config, { ...options, storage, cipher, flowsKey, clock: options.clock ?? systemClock }),
    ),
  );

/** An optimisation only: a failure is logged, and the connections open as they are needed. */
const warmUp = async (storage: PostgresStorage, logger: Logger): Promise<void> => {
  const startedAt = performance.now();
  const warmed = await storage.warmUp();
  if (warmed.isOk())
    logger.info(
      { connections: warmed.value, ms: Math.round(performance.now() - startedAt) },
      'database connections warmed up',
    );
  else
    logger.warn(
      { error: warmed.error.reason },
      `cannot warm up database connections (${warmed.error.message}); they open as needed`,
    );
};

/** Runs `use` over a short-lived connection to `databaseUrl`, closed after. */
const withDatabase = <T>(
  databaseUrl: string,
  config: Config,
  use: (storage: PostgresStorage) => ResultAsync<T, StorageError>,
): ResultAsync<T, StorageError> =>
  createPostgresStorage({
    databaseUrl,
    poolSize: 1,
    transactionPooler: config.databasePoolMode === 'transaction',
  }).andThen(
    (storage) =>
      new ResultAsync(
        Promise.resolve(use(storage)).then(async (result) => {
          await storage.close();
          return result;
        }),
      ),
  );

/**
 * Opens the cipher, the storage and Graph, and wires the bot from them: what both hosts' composition roots
 * do, in one place. The host adds its own surface (Express and the CLI, or Deno.serve).
 */
export const openBot = (config: Config, options: OpenOptions): ResultAsync<OpenBot, StartupError> =>
  safeTry(async function* () {
    const { cipher, flowsKey } = yield* deploymentKeys(config);
    const login = options.login ?? 'runtime';
    const databaseUrl =
      login === 'admin' ? (config.databaseMigrationUrl ?? config.databaseUrl) : config.databaseUrl;
    const storage = yield* createPostgresStorage({
      ...(options.pool !== undefined
        ? { pool: options.pool }
        : databaseUrl === undefined
          ? { dataDir: config.dataDir }
          : { databaseUrl, transactionPooler: config.databasePoolMode === 'transaction' }),
      cipher,
      logger: options.logger,
      metrics: options.metrics,
      ...(options.warmUp === true ? { idleTimeoutMs: 0 } : {}),
    }).mapErr(
      (error): StartupError => ({ type: 'storage', message: `cannot open the database: ${error.message}` }),
    );
    if (options.migrate) {
      const migrated = await (login === 'runtime' && config.databaseMigrationUrl !== undefined
        ? withDatabase<MigrationReport>(config.databaseMigrationUrl, config, (owner) => owner.migrate())
        : storage.migrate());
      if (migrated.isErr()) {
        await storage.close();
        const hint =
          config.databaseUrl !== undefined && config.databaseMigrationUrl === undefined
            ? ' (if DATABASE_URL is the runtime login prestabot_app, set DATABASE_MIGRATION_URL to the migrating role)'
            : '';
        return errAsync({
          type: 'storage' as const,
          message: `cannot migrate the database: ${migrated.error.message}${hint}`,
        });
      }
      if (migrated.value.applied.length > 0)
        options.logger.info({ applied: migrated.value.applied }, 'database migrated');
    }
    const runtimeLogin = (): ResultAsync<DatabaseLogin | undefined, StorageError> => {
      if (config.databaseUrl === undefined) return okAsync(undefined);
      return databaseUrl === config.databaseUrl
        ? storage.login()
        : withDatabase<DatabaseLogin>(config.databaseUrl, config, (runtime) => runtime.login());
    };
    if (login === 'runtime' && (config.databaseUrl !== undefined || options.pool !== undefined)) {
      const checked = await storage.login();
      const warning = checked.isOk() ? runtimeLoginWarning(checked.value) : undefined;
      if (checked.isOk() && warning !== undefined)
        options.logger.warn({ login: checked.value.name }, `${warning.problem}: ${warning.fix}`);
    }
    if (options.warmUp === true) await warmUp(storage, options.logger);
    const clock = options.clock ?? (await databaseClockOf(storage, options.logger));
    const wired = await wireBot(config, { ...options, storage, cipher, clock, flowsKey });
    return ok({
      ...wired,
      config,
      storage,
      runtimeLogin,
      logger: options.logger,
      close: async () => {
        await wired.close();
        await storage.close();
      },
    });
  });

/** What a bot is wired from once its storage is open: the storage's ports, the cipher and the clock. */
export type WireParts = Pick<
  OpenOptions,
  | 'owner'
  | 'logger'
  | 'metrics'
  | 'runAfterResponse'
  | 'hmac'
  | 'ingestOnly'
  | 'responders'
  | 'slotsWhileProcessing'
  | 'processWhileStoring'
> & {
  readonly storage: StoragePorts;
  readonly cipher: SecretCipher;
  readonly clock: Clock;
  readonly flowsKey: FlowPrivateKey | undefined;
};

/** A bot wired over open storage: everything but the database's lifecycle, which belongs to whoever opened it. */
export type WiredBot = Pick<OpenBot, 'admin' | 'bot' | 'flowKeys' | 'numberSync'> & {
  /** Stops the workers (finishing what they hold), then closes Graph connections. */
  readonly close: () => Promise<void>;
};

/** Graph, the container and the bot over storage that is already open: `openBot`'s, or an embedder's. */
export const wireBot = async (config: Config, parts: WireParts): Promise<WiredBot> => {
  const { storage, cipher, clock, flowsKey } = parts;
  const graph = new GraphClient(config.graph, { clock });
  const tokenSecret = await flowTokenSecret(config.encryptionKeys);
  const tokens = tokenSecret === undefined ? undefined : new SignedFlowTokens(tokenSecret);
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(runtimeTokens.flows).toConstantValue(defined({ tokens }));
  container.bind(runtimeTokens.chooseResponders).toConstantValue(parts.responders ?? allOfTheLoanBot);
  container.load(
    platformModule({
      config,
      logger: parts.logger,
      metrics: parts.metrics,
      clock,
    }),
    postgresStorageModule(storage, cipher),
    metaAdaptersModule(graph, defined({ hmac: parts.hmac })),
    useCasesModule(
      parts.ingestOnly === true
        ? undefined
        : { owner: parts.owner, leaseMs: defaultInboxWorkerOptions.leaseMs },
    ),
  );
  const useCases = resolve(container, runtimeTokens.useCases);
  // Not the cached directory: health must see the database as it is now.
  const directory = resolve(container, portTokens.tenantDirectory);
  const checkHealth = async (): Promise<HealthReport> => {
    // Routing a number nobody has is one indexed read: enough to know the database answers.
    const probe = await directory.findNumber('0' as never);
    return probe.isOk()
      ? { healthy: true, checks: { database: 'ok' } }
      : { healthy: false, checks: { database: probe.error.message } };
  };
  const flows =
    tokens === undefined
      ? undefined
      : createFlowsEndpoint({
          keys: new FlowKeyRing(
            {
              directory: resolve(container, portTokens.flowKeyDirectory),
              cipher,
              clock,
              logger: parts.logger,
            },
            {
              graceMs: defaultFlowKeyGraceMs,
              ttlMs: routingCacheTtlMs,
              ...defined({ deploymentKey: flowsKey }),
            },
          ),
          tokens,
          answer: useCases.answerFlowExchange,
          secrets: useCases.webhookSecrets,
          verifier: resolve(container, portTokens.webhookVerifier),
          clock,
          logger: parts.logger,
        });
  const numberSync = new SyncNumbers({
    directory,
    unitOfWork: resolve(container, portTokens.unitOfWork),
    tokens: useCases.accessTokens,
    reader: new GraphNumberView(graph),
    clock,
    logger: parts.logger,
  });
  const bot = assembleBot(container, {
    owner: parts.owner,
    numberSync,
    runAfterResponse: parts.runAfterResponse,
    checkHealth,
    ...defined({
      flows,
      slotsWhileProcessing: parts.slotsWhileProcessing,
      processWhileStoring: parts.processWhileStoring,
    }),
  });
  const flowKeys = new FlowKeyAdmin({
    directory,
    unitOfWork: resolve(container, portTokens.unitOfWork),
    cipher,
    encryption: new GraphBusinessEncryption(graph),
    accessTokens: useCases.accessTokens,
    clock,
    ids: resolve(container, portTokens.ids),
    deploymentKey: flowsKey,
  });
  return {
    admin: {
      tenants: useCases.manageTenants,
      templates: useCases.manageTemplates,
      usage: useCases.reportUsage,
      secrets: new ResealSecrets({ ...storage, cipher }),
    },
    bot,
    flowKeys,
    numberSync,
    close: async () => {
      await bot.stopWorkers();
      await graph.close();
    },
  };
};
