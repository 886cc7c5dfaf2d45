import {
  describeFlowKeyError,
  type FlowPrivateKey,
  GraphBusinessEncryption,
  GraphClient,
  type HmacSha256,
  importFlowPrivateKey,
  metaAdaptersModule,
  SignedFlowTokens,
} from '@prestabot/adapters-meta';
import {
  createAesGcmSecretCipher,
  createPostgresStorage,
  type PostgresStorage,
  postgresStorageModule,
} from '@prestabot/adapters-postgres';
import { type Clock, type Logger, type Metrics, portTokens, WebhookSecrets } from '@prestabot/application';
import { errAsync, ok, okAsync, type ResultAsync, safeTry } from '@prestabot/domain';
import { Container } from 'inversify';
import { assembleBot, type Bot } from './bot.ts';
import type { Config } from './config.ts';
import { databaseClockOf } from './database-clock.ts';
import { FlowKeyAdmin } from './flows/flow-key-admin.ts';
import { defaultFlowKeyGraceMs, FlowKeyRing } from './flows/flow-key-ring.ts';
import { createFlowsEndpoint } from './flows/flows-endpoint.ts';
import type { HealthReport } from './http/web-handler.ts';
import {
  intakeModule,
  loanBotModule,
  platformModule,
  resolve,
  routingCacheTtlMs,
  runtimeTokens,
  useCasesModule,
} from './wiring.ts';
import { defaultInboxWorkerOptions } from './worker/inbox-worker.ts';

/** Why the process cannot start: a line for the operator, and whether it is their input (exit 2). */
export type StartupError = { readonly type: 'configuration' | 'storage'; readonly message: string };

export type OpenBot = {
  readonly config: Config;
  readonly container: Container;
  readonly storage: PostgresStorage;
  readonly bot: Bot;
  readonly logger: Logger;
  /** The operator's Flows keys (`prestabot flows …`). */
  readonly flowKeys: FlowKeyAdmin;
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
  /** Absent: the database's clock, read through this machine's (`databaseClockOf`). */
  readonly clock?: Clock;
  /** The host's HMAC-SHA256 for webhook signatures, when it has a faster one than WebCrypto's. */
  readonly hmac?: HmacSha256;
  /**
   * Store webhooks for the workers' claims instead of processing them here (`serve --ingest-only`): the
   * HTTP process then does nothing but verify and store.
   */
  readonly ingestOnly?: boolean;
};

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

/** The flow-token key: derived from the encryption key, so no second secret has to be managed. */
const flowTokenSecret = async (encryptionKey: string): Promise<Uint8Array<ArrayBuffer>> => {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(encryptionKey),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(
    await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('prestabot flow tokens v1')),
  );
};

/**
 * Opens the cipher, the storage and Graph, and wires the bot from them: what both hosts' composition roots
 * do, in one place. The host adds its own surface (Express and the CLI, or Deno.serve).
 */
export const openBot = (config: Config, options: OpenOptions): ResultAsync<OpenBot, StartupError> =>
  safeTry(async function* () {
    const cipher = yield* createAesGcmSecretCipher({
      PRESTABOT_ENCRYPTION_KEY: config.encryptionKeys.current,
      PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: config.encryptionKeys.previous,
    }).mapErr((error): StartupError => ({ type: 'configuration', message: error.message }));
    const flowsKey = yield* deploymentFlowsKey(config);
    const storage = yield* createPostgresStorage({
      ...(config.databaseUrl === undefined
        ? { dataDir: config.dataDir }
        : { databaseUrl: config.databaseUrl, transactionPooler: config.databasePoolMode === 'transaction' }),
      cipher,
      logger: options.logger,
      metrics: options.metrics,
    }).mapErr(
      (error): StartupError => ({ type: 'storage', message: `cannot open the database: ${error.message}` }),
    );
    if (options.migrate) {
      const migrated = await storage.migrate();
      if (migrated.isErr()) {
        await storage.close();
        return errAsync({
          type: 'storage' as const,
          message: `cannot migrate the database: ${migrated.error.message}`,
        });
      }
      if (migrated.value.applied.length > 0)
        options.logger.info({ applied: migrated.value.applied }, 'database migrated');
    }
    const clock = options.clock ?? (await databaseClockOf(storage, options.logger));
    const graph = new GraphClient(config.graph, { clock });
    const tokens =
      config.encryptionKeys.current === undefined
        ? undefined
        : new SignedFlowTokens(await flowTokenSecret(config.encryptionKeys.current));
    const container = new Container({ defaultScope: 'Singleton' });
    container.bind(runtimeTokens.flows).toConstantValue(tokens === undefined ? {} : { tokens });
    container.load(
      platformModule({
        config,
        logger: options.logger,
        metrics: options.metrics,
        clock,
      }),
      postgresStorageModule(storage, cipher),
      metaAdaptersModule(graph, options.hmac === undefined ? {} : { hmac: options.hmac }),
      useCasesModule,
      loanBotModule,
      intakeModule(
        options.ingestOnly === true
          ? undefined
          : { owner: options.owner, leaseMs: defaultInboxWorkerOptions.leaseMs },
      ),
    );
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
                logger: options.logger,
              },
              {
                graceMs: defaultFlowKeyGraceMs,
                ttlMs: routingCacheTtlMs,
                ...(flowsKey === undefined ? {} : { deploymentKey: flowsKey }),
              },
            ),
            tokens,
            answer: resolve(container, runtimeTokens.answerFlowExchange),
            secrets: new WebhookSecrets({
              directory,
              cipher,
              logger: options.logger,
              deploymentAppSecret: config.deploymentAppSecret,
            }),
            verifier: resolve(container, portTokens.webhookVerifier),
            clock,
            logger: options.logger,
          });
    const bot = assembleBot(container, {
      owner: options.owner,
      runAfterResponse: options.runAfterResponse,
      checkHealth,
      ...(flows === undefined ? {} : { flows }),
    });
    const flowKeys = new FlowKeyAdmin({
      directory,
      unitOfWork: resolve(container, portTokens.unitOfWork),
      cipher,
      encryption: new GraphBusinessEncryption(graph),
      accessTokens: resolve(container, runtimeTokens.accessTokens),
      clock,
      ids: resolve(container, portTokens.ids),
      deploymentKey: flowsKey,
    });
    return ok({
      config,
      container,
      storage,
      bot,
      flowKeys,
      logger: options.logger,
      close: async () => {
        await bot.stopWorkers();
        await graph.close();
        await storage.close();
      },
    });
  });
