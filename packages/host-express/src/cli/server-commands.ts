import { type Command, InvalidArgumentError, Option } from 'commander';
import { startProbeServer, startServer, stopOnSignals } from '../server.ts';
import { configOrExit, exitFailure, exitUsage, fail } from './exit.ts';
import { type NodeBot, openNodeBot } from './node-bot.ts';

const portOrExit = (value: string): number => {
  const port = Number(value);
  return /^\d{1,5}$/.test(value) && port <= 65535
    ? port
    : fail(`--port ${JSON.stringify(value)} is not valid: expected a port number from 0 to 65535`, exitUsage);
};

const shutdownTimeoutOption = () =>
  new Option(
    '--shutdown-timeout <seconds>',
    'on SIGTERM, how long to let work in flight finish before exiting anyway',
  )
    .default(25)
    .argParser((value: string) => {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 3600)
        throw new InvalidArgumentError('expected a whole number of seconds from 1 to 3600');
      return Number(value);
    });

const stopped = (bot: NodeBot) => (signal: string) => {
  bot.logger.info({ signal }, 'stopped');
  process.exit(0);
};

const shutdownDeadline = (bot: NodeBot, seconds: number) => ({
  ms: seconds * 1000,
  onDeadline: (signal: string) => {
    bot.logger.error(
      { signal, shutdownTimeoutSeconds: seconds },
      'work in flight did not finish within the shutdown timeout; exiting (its leases let another process take it over)',
    );
    process.exit(exitFailure);
  },
});

export const addMigrateCommand = (program: Command): void => {
  program
    .command('migrate')
    .description('apply pending database migrations (idempotent)')
    .action(async () => {
      const config = configOrExit();
      const bot = await openNodeBot(config, { migrate: false, quiet: true, login: 'admin' });
      const migrated = await bot.storage.migrate();
      await bot.close();
      if (migrated.isErr()) fail(`cannot migrate: ${migrated.error.message}`, exitFailure);
      else
        process.stdout.write(
          migrated.value.applied.length === 0
            ? 'database is up to date\n'
            : `applied: ${migrated.value.applied.join(', ')}\n`,
        );
    });
};

export const addServeCommand = (program: Command): void => {
  program
    .command('serve')
    .description('HTTP server and, unless --no-worker, the worker in the same process')
    .option('--no-worker', 'serve HTTP only; run `prestabot worker` elsewhere')
    .option(
      '--ingest-only',
      'only verify and store webhooks; `prestabot worker` processes them (by default this process answers what it stores)',
    )
    .option('--port <port>', 'port to listen on (default: PORT or 3000)')
    .addOption(shutdownTimeoutOption())
    .action(
      async (flags: { worker: boolean; ingestOnly?: boolean; port?: string; shutdownTimeout: number }) => {
        const config = configOrExit();
        const port = flags.port === undefined ? config.port : portOrExit(flags.port);
        const bot = await openNodeBot(config, {
          migrate: true,
          quiet: false,
          ingestOnly: flags.ingestOnly === true,
          login: 'runtime',
        });
        const server = await startServer(bot, { port, worker: flags.worker });
        stopOnSignals(server.stop, stopped(bot), shutdownDeadline(bot, flags.shutdownTimeout));
      },
    );
};

export const addWorkerCommand = (program: Command): void => {
  program
    .command('worker')
    .description('the worker only: inbox processing, outbox sending, reminders, pruning finished queue rows')
    .option('--port <port>', 'serve GET /metrics and GET /healthz on this port (default: none)')
    .addOption(shutdownTimeoutOption())
    .action(async (flags: { port?: string; shutdownTimeout: number }) => {
      const config = configOrExit();
      const port = flags.port === undefined ? undefined : portOrExit(flags.port);
      const bot = await openNodeBot(config, { migrate: true, quiet: false, login: 'runtime' });
      const probes = port === undefined ? undefined : await startProbeServer(bot, port);
      bot.bot.startWorkers();
      bot.logger.info({ driver: bot.storage.driver }, 'worker running');
      const stop = async () => {
        await probes?.stop();
        await bot.close();
      };
      stopOnSignals(stop, stopped(bot), shutdownDeadline(bot, flags.shutdownTimeout));
    });
};
