import { GraphClient, metaAdaptersModule } from '@prestabot/adapters-meta';
import {
  createAesGcmSecretCipher,
  createPostgresStorage,
  type PostgresStorage,
  postgresStorageModule,
} from '@prestabot/adapters-postgres';
import { type Clock, type Logger, type Metrics, portTokens } from '@prestabot/application';
import { errAsync, ok, type ResultAsync, safeTry } from '@prestabot/domain';
import { Container } from 'inversify';
import { assembleBot, type Bot } from './bot.ts';
import type { Config } from './config.ts';
import type { HealthReport } from './http/web-handler.ts';
import { loanBotModule, platformModule, resolve, useCasesModule } from './wiring.ts';

/** Why the process cannot start: a line for the operator, and whether it is their input (exit 2). */
export type StartupError = { readonly type: 'configuration' | 'storage'; readonly message: string };

export type OpenBot = {
  readonly config: Config;
  readonly container: Container;
  readonly storage: PostgresStorage;
  readonly bot: Bot;
  readonly logger: Logger;
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
  readonly clock?: Clock;
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
    const storage = yield* createPostgresStorage({
      ...(config.databaseUrl === undefined
        ? { dataDir: config.dataDir }
        : { databaseUrl: config.databaseUrl }),
      cipher,
      logger: options.logger,
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
    const graph = new GraphClient(config.graph, {
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    const container = new Container({ defaultScope: 'Singleton' });
    container.load(
      platformModule({
        config,
        logger: options.logger,
        metrics: options.metrics,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      }),
      postgresStorageModule(storage, cipher),
      metaAdaptersModule(graph),
      useCasesModule,
      loanBotModule,
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
    const bot = assembleBot(container, {
      owner: options.owner,
      runAfterResponse: options.runAfterResponse,
      checkHealth,
    });
    return ok({
      config,
      container,
      storage,
      bot,
      logger: options.logger,
      close: async () => {
        await bot.stopWorkers();
        await graph.close();
        await storage.close();
      },
    });
  });
