import type { ChooseResponders, Clock, Logger, Metrics, StoragePorts } from '@prestabot/application';
import { defined, errAsync, type ResultAsync } from '@prestabot/domain';
import { loadConfig } from './config.ts';
import { JsonLogger } from './json-logger.ts';
import { type OpenOptions, openBot, type StartupError, wireBotOn } from './open-bot.ts';

/** Metrics for an embedding application that brings none: counted nowhere. */
export const discardedMetrics: Metrics = {
  increment: () => undefined,
  observe: () => undefined,
  set: () => undefined,
};

/**
 * What an application embedding PrestaBot chooses. Values may be `undefined` (straight from
 * `process.env`): an unset value means the same as the unset environment variable in the README's table.
 */
export type PrestaBotOptions = {
  /**
   * Storage the application opened and keeps, instead of a database PrestaBot opens: any implementation
   * that passes the storage contract suites (`@prestabot/application/testing`). Not migrated, not closed.
   */
  readonly storage?: StoragePorts | undefined;
  /** A `pg.Pool` the application owns: PrestaBot borrows it and never ends it. */
  readonly pool?: OpenOptions['pool'];
  /** `DATABASE_URL`: PrestaBot opens (and at `stop`, closes) its own pool. */
  readonly databaseUrl?: string | undefined;
  /** `PRESTABOT_DATA_DIR`: with neither `pool` nor `databaseUrl`, the embedded PGlite keeps its files here. */
  readonly dataDir?: string | undefined;
  /** `PRESTABOT_ENCRYPTION_KEY`: base64 of 32 random bytes; what seals tokens and secrets at rest. */
  readonly encryptionKey?: string | undefined;
  /** `PRESTABOT_PREVIOUS_ENCRYPTION_KEYS`: older keys still accepted to open secrets sealed before a rotation. */
  readonly previousEncryptionKeys?: readonly string[] | undefined;
  /** `WHATSAPP_VERIFY_TOKEN`: answers Meta's GET verification. */
  readonly verifyToken?: string | undefined;
  /** `META_APP_SECRET`: signs webhooks of numbers registered without an app secret of their own. */
  readonly appSecret?: string | undefined;
  /** `META_GRAPH_URL` and `META_GRAPH_VERSION`. */
  readonly graph?: { readonly url?: string | undefined; readonly version?: string | undefined } | undefined;
  /** Apply pending migrations before anything else (default true). */
  readonly migrate?: boolean | undefined;
  /** Default: JSON lines on stdout at `info`. */
  readonly logger?: Logger | undefined;
  /** Default: counted nowhere. The Node host exports a Prometheus implementation. */
  readonly metrics?: Metrics | undefined;
  /** Default: the database's clock. */
  readonly clock?: Clock | undefined;
  /**
   * The bot's behaviour: given the loan bot's responders, the ones to ask, in order, before the main menu.
   * `(loanBot) => [mine, ...loanBot]` adds to it; `() => [mine]` replaces it.
   */
  readonly responders?: ChooseResponders | undefined;
  /** Any other variable of the README's configuration table, by name (`PRESTABOT_RETENTION_DAYS`, …). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
};

/** One PrestaBot inside an application: a Web-standard handler, its background workers, and their end. */
export type PrestaBot = {
  /**
   * Every HTTP route of the bot (SPEC §3), relative to where it is mounted: `GET`/`POST /webhook`,
   * `POST /flows`, `GET /healthz` (ready), `GET /livez` (up).
   */
  readonly fetch: (request: Request) => Promise<Response>;
  /** Starts the workers: stored messages, replies at each number's rate, reminders, pruning. */
  readonly startWorkers: () => void;
  /** Stops the workers, finishing the work they hold, then closes what PrestaBot opened. */
  readonly stop: () => Promise<void>;
};

const envOf = (options: PrestaBotOptions): Readonly<Record<string, string | undefined>> => {
  const named: Record<string, string | undefined> = {
    DATABASE_URL: options.databaseUrl,
    PRESTABOT_DATA_DIR: options.dataDir,
    PRESTABOT_ENCRYPTION_KEY: options.encryptionKey,
    PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: options.previousEncryptionKeys?.join(','),
    WHATSAPP_VERIFY_TOKEN: options.verifyToken,
    META_APP_SECRET: options.appSecret,
    META_GRAPH_URL: options.graph?.url,
    META_GRAPH_VERSION: options.graph?.version,
  };
  return {
    ...options.env,
    ...Object.fromEntries(Object.entries(named).filter(([, value]) => value !== undefined)),
  };
};

/**
 * PrestaBot as a library: checks the options as the hosts check the environment (a bad one is a
 * `configuration` error naming it), opens the database, migrates it, and wires the bot.
 */
export const createPrestaBot = (options: PrestaBotOptions): ResultAsync<PrestaBot, StartupError> => {
  const loaded = loadConfig(envOf(options));
  if (loaded.isErr())
    return errAsync({
      type: 'configuration',
      message: loaded.error.map((problem) => problem.message).join('; '),
    });
  const config = loaded.value;
  const logger = options.logger ?? new JsonLogger(config.logLevel, (line) => console.log(line));
  const common = {
    owner: `embedded:${crypto.randomUUID().slice(0, 8)}`,
    logger,
    metrics: options.metrics ?? discardedMetrics,
    // The work runs on after the response; a failure is logged, never lost (the worker retries it).
    runAfterResponse: (work: Promise<unknown>) => {
      work.catch((error: unknown) => logger.error({ error: String(error) }, 'background work failed'));
    },
    ...defined({ clock: options.clock }),
    ...defined({ responders: options.responders }),
  };
  const opened =
    options.storage === undefined
      ? openBot(config, {
          ...common,
          migrate: options.migrate ?? true,
          ...defined({ pool: options.pool }),
        })
      : wireBotOn(config, options.storage, common);
  return opened.map((wired) => ({
    fetch: wired.bot.handler,
    startWorkers: wired.bot.startWorkers,
    stop: wired.close,
  }));
};
