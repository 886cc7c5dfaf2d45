import { hostname } from 'node:os';
import { type Config, type OpenBot, openBot, type StartupError } from '@prestabot/runtime';
import { pino } from 'pino';
import { createLogger } from '../logger.ts';
import { PrometheusMetrics } from '../metrics.ts';
import { nodeHmacSha256 } from '../node-hmac.ts';
import { configOrExit, exitFailure, exitUsage, fail } from './exit.ts';

/** Admin commands log to stderr only what matters, so stdout stays for their answer. */
const adminLogger = (config: Config) =>
  createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));

export type NodeBot = OpenBot & { readonly metrics: PrometheusMetrics };

/** Opens the bot with Prometheus metrics; a startup failure ends the process with its exit code. */
export const openNodeBot = async (
  config: Config,
  options: {
    readonly migrate: boolean;
    readonly quiet: boolean;
    readonly ingestOnly?: boolean;
    /** Migrations and admin commands (`admin`: DATABASE_MIGRATION_URL when set), or serve and worker. */
    readonly login: 'runtime' | 'admin';
  },
): Promise<NodeBot> => {
  const logger = options.quiet ? adminLogger(config) : createLogger(config.logLevel);
  const metrics = new PrometheusMetrics();
  const opened = await openBot(config, {
    owner: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    logger,
    metrics,
    migrate: options.migrate,
    login: options.login,
    hmac: nodeHmacSha256,
    ingestOnly: options.ingestOnly === true,
    // serve and worker: their first webhooks should not wait for connections to open.
    warmUp: options.login === 'runtime',
    // On Node the work simply runs on after the response; a failure is logged, never lost (it is retried).
    runAfterResponse: (work) => {
      work.catch((error: unknown) => logger.error({ error: String(error) }, 'background work failed'));
    },
  });
  if (opened.isErr()) return failStartup(opened.error);
  return { ...opened.value, metrics };
};

const failStartup = (error: StartupError): never =>
  fail(error.message, error.type === 'configuration' ? exitUsage : exitFailure);

/** Runs a short admin command against the database and closes it, whatever happens. */
export const withBot = async (work: (bot: NodeBot) => Promise<void>): Promise<void> => {
  const config = configOrExit();
  const bot = await openNodeBot(config, {
    migrate: config.databaseUrl === undefined,
    quiet: true,
    login: 'admin',
  });
  try {
    await work(bot);
  } finally {
    await bot.close();
  }
};
