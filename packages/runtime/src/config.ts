import { type GraphApiConfig, parseGraphApiConfig } from '@prestabot/adapters-meta';
import { minimumRetentionDays } from '@prestabot/application';
import { defined, err, ok, type Result } from '@prestabot/domain';
import * as z from 'zod';

/** The deployment's configuration, read from the environment once at start-up. */
export type Config = {
  /** Absent: embedded PGlite under `dataDir`. What `serve` and `worker` log in with (the runtime login). */
  readonly databaseUrl?: string;
  /**
   * A role that owns the schema, for migrations and the admin commands; absent: `databaseUrl` does both
   * (single-URL mode, which `doctor` and `serve` warn about). See the README's "Database roles".
   */
  readonly databaseMigrationUrl?: string;
  /** `transaction`: `databaseUrl` is a transaction-mode pooler, so statements are neither prepared nor pipelined. */
  readonly databasePoolMode: DatabasePoolMode;
  readonly dataDir: string;
  readonly port: number;
  readonly verifyToken?: string;
  readonly deploymentAppSecret?: string;
  readonly fallbackAccessToken?: string;
  readonly graph: GraphApiConfig;
  /** `PRESTABOT_ENCRYPTION_KEY` and `PRESTABOT_PREVIOUS_ENCRYPTION_KEYS` as given; the cipher checks them. */
  readonly encryptionKeys: { readonly current?: string; readonly previous?: string };
  readonly profileFlowId?: string;
  readonly flowsPrivateKey?: string;
  /** Finished inbox and outbox rows are pruned this many days after they finished. */
  readonly retentionDays: number;
  readonly logLevel: LogLevel;
};

export const databasePoolModes = ['session', 'transaction'] as const;
export type DatabasePoolMode = (typeof databasePoolModes)[number];

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** One bad variable: which, and what was expected. Secret values are never repeated back. */
export type ConfigProblem = { readonly variable: string; readonly message: string };

// A century: enough to keep everything, and a cutoff that is still a date.
const maximumRetentionDays = 36_500;
const retentionDaysExpected = `must be a whole number of days from ${minimumRetentionDays} (Meta redelivers a webhook for that long) to ${maximumRetentionDays}`;

/** Empty variables count as unset: `FOO=` in an env file means "no value". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\/.+/.test(value), {
  error: 'must be a postgres:// or postgresql:// connection URL',
});

const schema = z.object({
  DATABASE_URL: optional(postgresUrl),
  DATABASE_MIGRATION_URL: optional(postgresUrl),
  DATABASE_POOL_MODE: optional(
    z.enum(databasePoolModes, {
      error:
        "must be 'session' (a server, or a session-mode pooler) or 'transaction' (a transaction-mode pooler)",
    }),
  ),
  PRESTABOT_DATA_DIR: optional(z.string()),
  PORT: optional(
    z.coerce
      .number({ error: 'must be a port number from 0 to 65535' })
      .int({ error: 'must be a whole port number' })
      .min(0)
      .max(65535, { error: 'must be a port number from 0 to 65535' }),
  ),
  WHATSAPP_VERIFY_TOKEN: optional(z.string()),
  META_APP_SECRET: optional(z.string()),
  WHATSAPP_ACCESS_TOKEN: optional(z.string()),
  META_GRAPH_URL: optional(z.string()),
  META_GRAPH_VERSION: optional(z.string()),
  PRESTABOT_ENCRYPTION_KEY: optional(z.string()),
  PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: optional(z.string()),
  WHATSAPP_PROFILE_FLOW_ID: optional(
    z.string().regex(/^[0-9]{1,32}$/, { error: 'must be a Flow id (digits), from WhatsApp Manager → Flows' }),
  ),
  FLOWS_PRIVATE_KEY: optional(
    z.string().refine((value) => value.includes('-----BEGIN') && value.includes('PRIVATE KEY-----'), {
      error: 'must be a PEM private key (-----BEGIN PRIVATE KEY-----)',
    }),
  ),
  PRESTABOT_RETENTION_DAYS: optional(
    z.coerce
      .number({ error: retentionDaysExpected })
      .int({ error: retentionDaysExpected })
      .min(minimumRetentionDays, { error: retentionDaysExpected })
      .max(maximumRetentionDays, { error: retentionDaysExpected }),
  ),
  LOG_LEVEL: optional(z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` })),
});

/** Variables whose values are secret: a problem with them never quotes the value. */
const secretVariables = new Set([
  'WHATSAPP_VERIFY_TOKEN',
  'META_APP_SECRET',
  'WHATSAPP_ACCESS_TOKEN',
  'PRESTABOT_ENCRYPTION_KEY',
  'PRESTABOT_PREVIOUS_ENCRYPTION_KEYS',
  'FLOWS_PRIVATE_KEY',
  'DATABASE_URL',
  'DATABASE_MIGRATION_URL',
]);

type Env = Readonly<Record<string, string | undefined>>;

const problemOf = (variable: string, env: Env, message: string): ConfigProblem => {
  const value = env[variable];
  const named =
    secretVariables.has(variable) || value === undefined ? variable : `${variable}=${JSON.stringify(value)}`;
  return { variable, message: `${named} ${message}` };
};

const unlessEmpty = (value: string | undefined) => (value === '' ? undefined : value);

/** Reads and checks every variable; all problems are reported at once, one line each. */
export const loadConfig = (env: Env): Result<Config, readonly ConfigProblem[]> => {
  const parsed = schema.safeParse(env);
  // One place knows what a Graph URL and version must be: the adapter that calls Graph.
  const graph = parseGraphApiConfig({
    baseUrl: unlessEmpty(env.META_GRAPH_URL),
    version: unlessEmpty(env.META_GRAPH_VERSION),
  });
  if (!parsed.success || graph.isErr()) {
    return err([
      ...(parsed.success
        ? []
        : parsed.error.issues.map((issue) => problemOf(String(issue.path[0]), env, issue.message))),
      ...(graph.isErr() ? [problemOf(graph.error.variable, env, `must be ${graph.error.expected}`)] : []),
    ]);
  }
  const values = parsed.data;
  if (values.DATABASE_MIGRATION_URL !== undefined && values.DATABASE_URL === undefined)
    return err([
      problemOf(
        'DATABASE_MIGRATION_URL',
        env,
        'is for a PostgreSQL server: set DATABASE_URL too (the runtime login), or unset it',
      ),
    ]);
  return ok({
    databasePoolMode: values.DATABASE_POOL_MODE ?? 'session',
    dataDir: values.PRESTABOT_DATA_DIR ?? './.prestabot',
    port: values.PORT ?? 3000,
    graph: graph.value,
    encryptionKeys: {
      ...defined({ current: values.PRESTABOT_ENCRYPTION_KEY }),
      ...(values.PRESTABOT_PREVIOUS_ENCRYPTION_KEYS === undefined
        ? {}
        : { previous: values.PRESTABOT_PREVIOUS_ENCRYPTION_KEYS }),
    },
    retentionDays: values.PRESTABOT_RETENTION_DAYS ?? 30,
    logLevel: values.LOG_LEVEL ?? 'info',
    ...defined({ databaseUrl: values.DATABASE_URL }),
    ...(values.DATABASE_MIGRATION_URL === undefined
      ? {}
      : { databaseMigrationUrl: values.DATABASE_MIGRATION_URL }),
    ...defined({ verifyToken: values.WHATSAPP_VERIFY_TOKEN }),
    ...defined({ deploymentAppSecret: values.META_APP_SECRET }),
    ...(values.WHATSAPP_ACCESS_TOKEN === undefined
      ? {}
      : { fallbackAccessToken: values.WHATSAPP_ACCESS_TOKEN }),
    ...(values.WHATSAPP_PROFILE_FLOW_ID === undefined
      ? {}
      : { profileFlowId: values.WHATSAPP_PROFILE_FLOW_ID }),
    ...defined({ flowsPrivateKey: values.FLOWS_PRIVATE_KEY }),
  });
};
