#!/usr/bin/env node

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { text as readStream } from 'node:stream/consumers';
import {
  type AddTenantInput,
  describeSendFailure,
  type ManageTemplatesError,
  type ManageTenantsError,
  type NumberInput,
  type SyncNumbersError,
} from '@prestabot/application';
import { defined } from '@prestabot/domain';
import {
  type Config,
  defaultFlowKeyGraceMs,
  type FlowKeyAdminError,
  loadConfig,
  type OpenBot,
  openBot,
  type StartupError,
} from '@prestabot/runtime';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { runDemo } from './demo/demo.ts';
import { diagnose } from './doctor.ts';
import { createLogger } from './logger.ts';
import { PrometheusMetrics } from './metrics.ts';
import { nodeHmacSha256 } from './node-hmac.ts';
import { reportSyncOutcomes } from './numbers-sync.ts';
import { startProbeServer, startServer, stopOnSignals } from './server.ts';

/** Exit codes: 1 when something failed, 2 when the input (arguments, environment) was wrong. */
const exitFailure = 1;
const exitUsage = 2;

/** Ends the process with one line on stderr. */
const fail = (line: string, code: number): never => {
  process.stderr.write(`error: ${line}\n`);
  process.exit(code);
};

const configOrExit = (): Config => {
  const config = loadConfig(process.env);
  if (config.isOk()) return config.value;
  for (const problem of config.error) process.stderr.write(`error: ${problem.message}\n`);
  return process.exit(exitUsage);
};

/** Admin commands log to stderr only what matters, so stdout stays for their answer. */
const adminLogger = (config: Config) =>
  createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));

type NodeBot = OpenBot & { readonly metrics: PrometheusMetrics };

const open = async (
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

// Permission denied: most likely DATABASE_URL is the runtime login, which may not run admin commands.
const adminLoginHint =
  ' (admin commands need the migrating role: set DATABASE_MIGRATION_URL to its URL, see README: Database roles)';

/** The one place an admin command's error becomes a line on stderr and an exit code. */
const failUseCase = (
  error: ManageTenantsError | ManageTemplatesError | FlowKeyAdminError | SyncNumbersError,
): never => {
  switch (error.type) {
    case 'invalid_input':
      return fail(
        `${error.field} ${JSON.stringify(error.value)} is not valid: expected ${error.expected}`,
        exitUsage,
      );
    case 'number_already_registered':
      return fail(
        `phone_number_id ${error.phoneNumberId} is already registered (prestabot tenants list shows where)`,
        exitFailure,
      );
    case 'number_not_found':
      return fail(
        `no tenant has phone_number_id ${error.phoneNumberId} (prestabot tenants list shows the numbers)`,
        exitFailure,
      );
    case 'no_flow_key':
      return fail(
        `number ${error.phoneNumberId} has no Flows key: run prestabot flows keygen --phone-number-id ${error.phoneNumberId}, or set FLOWS_PRIVATE_KEY`,
        exitFailure,
      );
    case 'graph_refused':
      return fail(`Meta refused the key: ${describeSendFailure(error.failure)}`, exitFailure);
    case 'no_access_token':
      return fail(
        `number ${error.phoneNumberId} has no access token (tenants rotate-token), and WHATSAPP_ACCESS_TOKEN is not set`,
        exitFailure,
      );
    case 'tenant_not_found':
      return fail(
        'phoneNumberId' in error && error.phoneNumberId !== undefined
          ? `no tenant has phone_number_id ${error.phoneNumberId} (prestabot tenants list shows the numbers)`
          : `no tenant with id ${error.tenantId} (prestabot tenants list shows the tenants)`,
        exitFailure,
      );
    case 'encryption_key_missing':
      return fail(error.message, exitUsage);
    case 'secret_unreadable':
      return fail(error.message, exitFailure);
    case 'storage_error':
      return fail(
        `database: ${error.message}${/\b42501\b/.test(error.message) ? adminLoginHint : ''}`,
        exitFailure,
      );
  }
};

/** Runs a short admin command against the database and closes it, whatever happens. */
const withBot = async (work: (bot: NodeBot) => Promise<void>): Promise<void> => {
  const config = configOrExit();
  const bot = await open(config, { migrate: config.databaseUrl === undefined, quiet: true, login: 'admin' });
  try {
    await work(bot);
  } finally {
    await bot.close();
  }
};

/** Prints rows as columns padded to their widest cell, the first row being the header. */
const printTable = (table: readonly (readonly string[])[]): void => {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => [...line[column]!].length)));
  for (const line of table)
    process.stdout.write(
      `${line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd()}\n`,
    );
};

const rate = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new InvalidArgumentError('expected a whole number of messages per second from 1 to 1000');
  return Number(value);
};

/**
 * A secret given as `--name value`, `--name -` (read from standard input) or `--name-file path`. The
 * last two keep it off the command line, which every user of the machine can read (`ps`). One trailing
 * line break is dropped, as `echo` and editors leave one.
 */
const secretOf = async (
  option: string,
  value: string | undefined,
  file: string | undefined,
): Promise<string | undefined> => {
  if (value !== undefined && file !== undefined)
    fail(`give --${option} or --${option}-file, not both`, exitUsage);
  const read =
    value === '-'
      ? await readStream(process.stdin)
      : file !== undefined
        ? await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) =>
            fail(
              `--${option}-file ${JSON.stringify(file)} cannot be read: ${error.code ?? error.message}`,
              exitUsage,
            ),
          )
        : value;
  const secret = read?.replace(/\r?\n$/, '');
  if (secret === '') fail(`--${option}${file === undefined ? '' : '-file'} gave an empty value`, exitUsage);
  return secret;
};

const requiredSecretOf = async (option: string, value: string | undefined, file: string | undefined) =>
  (await secretOf(option, value, file)) ??
  fail(
    `--${option} <value>, --${option} - (standard input) or --${option}-file <path> is required`,
    exitUsage,
  );

const accessTokenOptions = (command: Command, description: string) =>
  command
    .option('--access-token <token>', `${description}; "-" reads it from standard input`)
    .option(
      '--access-token-file <path>',
      `${description}, read from a file (preferred: off the command line)`,
    );

const numberOptions = (command: Command) =>
  accessTokenOptions(
    command.requiredOption('--phone-number-id <id>', "the number's id from WhatsApp Manager → API Setup"),
    "the number's own access token (a system user token)",
  )
    .requiredOption('--waba-id <id>', 'the WhatsApp Business Account id')
    .option('--display-phone <phone>', 'the number in E.164, e.g. +56912345678')
    .option(
      '--app-secret <secret>',
      'the secret of the Meta app that signs this number\'s webhooks (default: META_APP_SECRET); "-" reads it from standard input',
    )
    .option('--app-secret-file <path>', 'the same secret, read from a file')
    .option('--app-id <id>', 'the Meta app id the secret belongs to')
    .addOption(
      new Option('--rate <per-second>', 'messages per second Meta allows this number').argParser(rate),
    );

type NumberFlags = {
  phoneNumberId: string;
  accessToken?: string;
  accessTokenFile?: string;
  wabaId: string;
  displayPhone?: string;
  appSecret?: string;
  appSecretFile?: string;
  appId?: string;
  rate?: number;
};

const numberInput = async (flags: NumberFlags): Promise<NumberInput> => {
  const appSecret = await secretOf('app-secret', flags.appSecret, flags.appSecretFile);
  return {
    phoneNumberId: flags.phoneNumberId,
    accessToken: await requiredSecretOf('access-token', flags.accessToken, flags.accessTokenFile),
    wabaId: flags.wabaId,
    ...defined({ displayPhone: flags.displayPhone }),
    ...defined({ appSecret }),
    ...defined({ metaAppId: flags.appId }),
    ...defined({ ratePerSecond: flags.rate }),
  };
};

/** The host package's version, which `--version` prints. */
const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

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

const program = new Command('prestabot')
  .description('PrestaBot: a multi-tenant WhatsApp bot that keeps track of loans')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(`${message.trim().split('\n')[0]}\n`) });

program
  .command('migrate')
  .description('apply pending database migrations (idempotent)')
  .action(async () => {
    const config = configOrExit();
    const bot = await open(config, { migrate: false, quiet: true, login: 'admin' });
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
      const bot = await open(config, {
        migrate: true,
        quiet: false,
        ingestOnly: flags.ingestOnly === true,
        login: 'runtime',
      });
      const server = await startServer(bot, { port, worker: flags.worker });
      stopOnSignals(server.stop, stopped(bot), shutdownDeadline(bot, flags.shutdownTimeout));
    },
  );

program
  .command('worker')
  .description('the worker only: inbox processing, outbox sending, reminders, pruning finished queue rows')
  .option('--port <port>', 'serve GET /metrics and GET /healthz on this port (default: none)')
  .addOption(shutdownTimeoutOption())
  .action(async (flags: { port?: string; shutdownTimeout: number }) => {
    const config = configOrExit();
    const port = flags.port === undefined ? undefined : portOrExit(flags.port);
    const bot = await open(config, { migrate: true, quiet: false, login: 'runtime' });
    const probes = port === undefined ? undefined : await startProbeServer(bot, port);
    bot.bot.startWorkers();
    bot.logger.info({ driver: bot.storage.driver }, 'worker running');
    const stop = async () => {
      await probes?.stop();
      await bot.close();
    };
    stopOnSignals(stop, stopped(bot), shutdownDeadline(bot, flags.shutdownTimeout));
  });

const tenants = program.command('tenants').description('tenants and their numbers');

numberOptions(
  tenants
    .command('add')
    .description('create a tenant with its first number; prints the tenant id')
    .requiredOption('--name <name>', "the tenant's name")
    .option('--timezone <zone>', 'IANA time zone for due dates and reminders', 'America/Santiago')
    .option('--locale <locale>', 'language of the bot: es-CL, es or en', 'es-CL'),
).action((flags: NumberFlags & { name: string; timezone: string; locale: string }) =>
  withBot(async (bot) => {
    const input: AddTenantInput = {
      ...(await numberInput(flags)),
      name: flags.name,
      timezone: flags.timezone,
      locale: flags.locale,
    };
    const added = await bot.admin.tenants.addTenant(input);
    if (added.isErr()) failUseCase(added.error);
    else process.stdout.write(`${added.value.tenantId}\n`);
  }),
);

tenants
  .command('list')
  .description('one row per tenant and number, with the token status (never the token)')
  .option('--json', 'print JSON lines')
  .action((flags: { json?: boolean }) =>
    withBot(async (bot) => {
      const rows = await bot.admin.tenants.listTenants();
      if (rows.isErr()) return failUseCase(rows.error);
      if (flags.json === true) {
        for (const row of rows.value) process.stdout.write(`${JSON.stringify(row)}\n`);
        return;
      }
      printTable([
        // Meta's view goes last, so readers of the earlier columns keep working.
        [
          'TENANT',
          'NAME',
          'TIMEZONE',
          'PHONE_NUMBER_ID',
          'DISPLAY',
          'WABA',
          'RATE',
          'TOKEN',
          'LIMIT',
          'QUALITY',
          'THROUGHPUT',
        ],
        ...rows.value.map((row) => [
          row.tenantId,
          row.name,
          row.timezone,
          row.phoneNumberId ?? '-',
          row.displayPhoneNumber ?? '-',
          row.wabaId ?? '-',
          String(row.ratePerSecond ?? '-'),
          row.tokenStatus,
          row.phoneNumberId === undefined ? '-' : (row.messagingLimit ?? '?'),
          `${row.qualityRating ?? '-'}${row.qualityFlagged === true ? ' FLAGGED' : ''}`,
          row.throughputLevel ?? '-',
        ]),
      ]);
    }),
  );

accessTokenOptions(
  tenants
    .command('rotate-token')
    .description("replace a number's access token; the next send uses it, no restart needed")
    .requiredOption('--phone-number-id <id>', 'the number'),
  'the new token',
).action((flags: { phoneNumberId: string; accessToken?: string; accessTokenFile?: string }) =>
  withBot(async (bot) => {
    const rotated = await bot.admin.tenants.rotateToken(
      flags.phoneNumberId,
      await requiredSecretOf('access-token', flags.accessToken, flags.accessTokenFile),
    );
    if (rotated.isErr()) failUseCase(rotated.error);
    else process.stdout.write(`token replaced for ${flags.phoneNumberId}\n`);
  }),
);

const wholeHour = (value: string): number => {
  if (!/^\d{1,2}$/.test(value)) throw new InvalidArgumentError('expected a whole hour from 0 to 23');
  return Number(value);
};

tenants
  .command('configure')
  .description("change a tenant's settings; what is not given stays as it is")
  .requiredOption('--tenant <id>', 'the tenant id (prestabot tenants list)')
  .option(
    '--profile-flow-id <id>',
    'the "My profile" Flow id of this tenant ("" for WHATSAPP_PROFILE_FLOW_ID)',
  )
  .addOption(
    new Option('--reminder-hour <hour>', 'local hour (0-23) at which reminders go out').argParser(wholeHour),
  )
  .option('--currency <code>', 'currency of amounts typed without one, e.g. CLP')
  .option('--calling-code <code>', 'country calling code of phone numbers typed without one, e.g. 56')
  .action(
    (flags: {
      tenant: string;
      profileFlowId?: string;
      reminderHour?: number;
      currency?: string;
      callingCode?: string;
    }) =>
      withBot(async (bot) => {
        const configured = await bot.admin.tenants.configureTenant(flags.tenant, {
          ...defined({ profileFlowId: flags.profileFlowId }),
          ...defined({ reminderSendHour: flags.reminderHour }),
          ...defined({ defaultCurrency: flags.currency }),
          ...defined({ defaultCallingCode: flags.callingCode }),
        });
        if (configured.isErr()) failUseCase(configured.error);
        else process.stdout.write(`${JSON.stringify(configured.value)}\n`);
      }),
  );

program
  .command('usage')
  .description(
    "messages of a month by tenant, number, Meta's pricing category and billable or free, from the statuses Meta sent",
  )
  .option('--tenant <id>', 'one tenant (prestabot tenants list); every tenant when absent')
  .option('--month <YYYY-MM>', 'a calendar month in UTC (default: the current one)')
  .option('--json', 'print JSON lines')
  .action((flags: { tenant?: string; month?: string; json?: boolean }) =>
    withBot(async (bot) => {
      const report = await bot.admin.usage.execute({
        ...defined({ tenantId: flags.tenant }),
        ...defined({ month: flags.month }),
      });
      if (report.isErr()) return failUseCase(report.error);
      const { month, rows } = report.value;
      if (flags.json === true) {
        for (const row of rows) process.stdout.write(`${JSON.stringify({ month, ...row })}\n`);
        return;
      }
      printTable([
        ['MONTH', 'TENANT', 'PHONE_NUMBER_ID', 'CATEGORY', 'BILLABLE', 'MESSAGES'],
        ...rows.map((row) => [
          month,
          row.tenantId,
          row.phoneNumberId,
          row.category,
          row.billable ? 'yes' : 'no',
          String(row.messages),
        ]),
      ]);
    }),
  );

const numbers = program.command('numbers').description("a tenant's WhatsApp numbers");
numberOptions(
  numbers
    .command('add')
    .description('add another number to a tenant')
    .requiredOption('--tenant <id>', 'the tenant id (prestabot tenants list)'),
).action((flags: NumberFlags & { tenant: string }) =>
  withBot(async (bot) => {
    const added = await bot.admin.tenants.addNumber(flags.tenant, await numberInput(flags));
    if (added.isErr()) failUseCase(added.error);
    else process.stdout.write(`${added.value.phoneNumberId}\n`);
  }),
);

numbers
  .command('sync')
  .description(
    "read each number's messaging limit, quality, throughput and name from Meta with its own token; the rate follows the throughput unless --rate pinned it",
  )
  .option('--phone-number-id <id>', 'one number; every number when absent')
  .option('--json', 'print JSON lines')
  .action((flags: { phoneNumberId?: string; json?: boolean }) =>
    withBot(async (bot) => {
      const outcomes = await bot.numberSync.sync(flags.phoneNumberId);
      if (outcomes.isErr()) return failUseCase(outcomes.error);
      process.exitCode = reportSyncOutcomes(outcomes.value, flags.json === true, (line) =>
        process.stdout.write(`${line}\n`),
      );
    }),
  );

const templates = program.command('templates').description("a tenant's approved message templates");
templates
  .command('add')
  .description('register an approved template for a purpose and language')
  .requiredOption('--tenant <id>', 'the tenant id')
  .requiredOption(
    '--purpose <purpose>',
    'loan_confirmation_request, loan_reminder, loan_overdue_notice, loan_update or loan_return_claim',
  )
  .requiredOption('--name <name>', 'the template name in WhatsApp Manager')
  .requiredOption('--language <code>', 'the template language, e.g. es_CL')
  .option(
    '--parameters <list>',
    'body parameters in order, e.g. borrower_name,loan,due_date (or name=variable)',
  )
  .option('--quick-replies <list>', 'quick-reply buttons in order, e.g. accept,reject')
  .action(
    (flags: {
      tenant: string;
      purpose: string;
      name: string;
      language: string;
      parameters?: string;
      quickReplies?: string;
    }) =>
      withBot(async (bot) => {
        const added = await bot.admin.templates.add(flags);
        if (added.isErr()) failUseCase(added.error);
        else process.stdout.write(`${added.value.purpose} → ${added.value.name} (${added.value.language})\n`);
      }),
  );
templates
  .command('list')
  .requiredOption('--tenant <id>', 'the tenant id')
  .option('--json', 'print JSON lines')
  .action((flags: { tenant: string; json?: boolean }) =>
    withBot(async (bot) => {
      const listed = await bot.admin.templates.list(flags.tenant);
      if (listed.isErr()) return failUseCase(listed.error);
      for (const template of listed.value) {
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(template)}\n`);
          continue;
        }
        process.stdout.write(
          `${template.purpose}  ${template.name}  ${template.language}  parameters=${template.parameters.map((p) => (p.name === undefined ? p.variable : `${p.name}=${p.variable}`)).join(',') || '-'}  quick-replies=${template.quickReplies.join(',') || '-'}${template.stopped === undefined ? '' : `  STOPPED (${template.stopped.status}): ${template.stopped.reason}`}\n`,
        );
      }
    }),
  );

const flows = program.command('flows').description('WhatsApp Flows: keys and the Flow JSON');
flows
  .command('keygen')
  .description(
    "generate a new key for a number's Flows (the previous one keeps working for a day); prints its public key",
  )
  .requiredOption('--phone-number-id <id>', 'the number')
  .action((flags: { phoneNumberId: string }) =>
    withBot(async (bot) => {
      const generated = await bot.flowKeys.generate(flags.phoneNumberId);
      if (generated.isErr()) return failUseCase(generated.error);
      process.stdout.write(`${generated.value.publicKeyPem}`);
      process.stderr.write(
        `key ${generated.value.fingerprint} stored; upload it with: prestabot flows register-key --phone-number-id ${flags.phoneNumberId}\n`,
      );
    }),
  );
flows
  .command('register-key')
  .description("upload the public key of the number's Flows key to Meta, with the number's own token")
  .requiredOption('--phone-number-id <id>', 'the number')
  .action((flags: { phoneNumberId: string }) =>
    withBot(async (bot) => {
      const registered = await bot.flowKeys.register(flags.phoneNumberId);
      if (registered.isErr()) return failUseCase(registered.error);
      process.stdout.write(`registered key ${registered.value.fingerprint} for ${flags.phoneNumberId}\n`);
    }),
  );
flows
  .command('key-status')
  .description('the keys in use for a number, and whether Meta holds the current one')
  .requiredOption('--phone-number-id <id>', 'the number')
  .option('--json', 'print it as JSON')
  .action((flags: { phoneNumberId: string; json?: boolean }) =>
    withBot(async (bot) => {
      const status = await bot.flowKeys.status(flags.phoneNumberId);
      if (status.isErr()) return failUseCase(status.error);
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(status.value)}\n`);
        return;
      }
      const { keys, registered, registeredUnknown } = status.value;
      if (keys.length === 0)
        process.stdout.write('no key: run prestabot flows keygen, or set FLOWS_PRIVATE_KEY\n');
      const stateOf = (key: (typeof keys)[number]) => {
        if (key.retiredAt === undefined) return 'current';
        const retired = `retired ${key.retiredAt.toISOString()}`;
        return key.graceFrom === undefined
          ? `${retired}, still accepted: its successor is not registered yet`
          : `${retired}, accepted until ${new Date(key.graceFrom.getTime() + defaultFlowKeyGraceMs).toISOString()}`;
      };
      for (const key of keys) process.stdout.write(`${key.fingerprint}  ${key.scope}  ${stateOf(key)}\n`);
      if (registered !== undefined)
        process.stdout.write(
          `Meta holds ${registered.matchesCurrent ? 'the current key' : 'ANOTHER key (run flows register-key)'}, signature ${registered.signatureStatus}\n`,
        );
      else
        process.stdout.write(
          registeredUnknown === undefined
            ? 'Meta holds no key for this number (run flows register-key)\n'
            : `could not ask Meta: ${registeredUnknown}\n`,
        );
    }),
  );
flows
  .command('print-json')
  .description('print the Flow JSON to upload in WhatsApp Manager (Flows → Create → edit JSON)')
  .argument('[flow]', 'the Flow', 'profile')
  .action(async (flow: string) => {
    if (flow !== 'profile') fail(`flow ${JSON.stringify(flow)} is not known: expected profile`, exitUsage);
    process.stdout.write(await readFile(new URL('../flows/profile.json', import.meta.url), 'utf8'));
  });

program
  .command('secrets')
  .description('the sealed secrets: access tokens, app secrets, Flows keys, bank details')
  .command('reseal')
  .description(
    'seal every stored secret again with PRESTABOT_ENCRYPTION_KEY, bound to its row, so older keys can leave PRESTABOT_PREVIOUS_ENCRYPTION_KEYS; exit 1 if one cannot be opened',
  )
  .action(() =>
    withBot(async (bot) => {
      if (bot.config.encryptionKeys.current === undefined)
        return fail(
          'PRESTABOT_ENCRYPTION_KEY is not set: secrets are resealed with it (the old keys go in PRESTABOT_PREVIOUS_ENCRYPTION_KEYS)',
          exitUsage,
        );
      const report = await bot.admin.secrets.execute();
      if (report.isErr()) return failUseCase(report.error);
      const { resealed, current, unreadable } = report.value;
      for (const { place, keyId, message } of unreadable)
        process.stderr.write(
          `error: ${place.table}.${place.column} of ${place.tenantId === undefined ? '' : `tenant ${place.tenantId}, `}row ${place.rowId} (key ${keyId}) cannot be opened: ${message}\n`,
        );
      process.stdout.write(
        `resealed ${resealed} secret(s), ${current} already current${unreadable.length === 0 ? '' : `, ${unreadable.length} cannot be opened: keep the key that sealed them`}\n`,
      );
      if (unreadable.length > 0) process.exitCode = exitFailure;
    }),
  );

program
  .command('doctor')
  .description(
    'check configuration, database, migrations, row-level security, tokens, secrets and Flows keys; exit 1 on any failure',
  )
  .action(async () => {
    const config = configOrExit();
    const bot = await open(config, { migrate: false, quiet: true, login: 'admin' });
    const health = await bot.storage.inspect();
    const runtimeLogin = await bot.runtimeLogin();
    const flowKeys = new Map(
      await Promise.all(
        (health.isOk() && health.value.reachable ? (health.value.numbers ?? []) : []).map(
          async (number) => [number.phoneNumberId, await bot.flowKeys.status(number.phoneNumberId)] as const,
        ),
      ),
    );
    await bot.close();
    if (health.isErr()) return fail(`database: ${health.error.message}`, exitFailure);
    if (runtimeLogin.isErr())
      return fail(`database (DATABASE_URL): ${runtimeLogin.error.message}`, exitFailure);
    const checks = diagnose(config, health.value, flowKeys, runtimeLogin.value);
    for (const item of checks)
      process.stdout.write(
        `${item.ok ? (item.warning === true ? '!' : '✓') : '✗'} ${item.label}${item.fix === undefined ? '' : `\n    fix: ${item.fix}`}\n`,
      );
    const failed = checks.filter((item) => !item.ok).length;
    process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
    process.exit(failed === 0 ? 0 : exitFailure);
  });

program
  .command('demo')
  .description(
    'the sandbox: embedded database, fake Meta, two tenants, a scripted conversation on both numbers',
  )
  .action(async () => {
    const code = await runDemo((line) => process.stdout.write(`${line}\n`));
    process.exit(code);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : exitUsage);
  throw error;
}
