import { err, ok, type Result } from '@prestabot/domain';
import * as z from 'zod';

/** The deployment's configuration, read from the environment once at start-up. */
export type Config = {
  /** Absent: embedded PGlite under `dataDir`. */
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly port: number;
  readonly verifyToken?: string;
  readonly deploymentAppSecret?: string;
  readonly fallbackAccessToken?: string;
  readonly graph: { readonly baseUrl: string; readonly version: string };
  readonly encryptionKey?: string;
  readonly previousEncryptionKeys: readonly string[];
  readonly profileFlowId?: string;
  readonly flowsPrivateKey?: string;
  readonly logLevel: LogLevel;
};

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** One bad variable: which, and what was expected. Secret values are never repeated back. */
export type ConfigProblem = { readonly variable: string; readonly message: string };

const minimumGraphVersion = 24;

const decodedLength = (base64: string): number | undefined => {
  try {
    return atob(base64).length;
  } catch {
    return undefined;
  }
};

const encryptionKey = z.string().refine((value) => decodedLength(value) === 32, {
  error: 'must be base64 of exactly 32 random bytes; make one with: openssl rand -base64 32',
});

/** Empty variables count as unset: `FOO=` in an env file means "no value". */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const schema = z.object({
  DATABASE_URL: optional(
    z.string().refine((value) => /^postgres(ql)?:\/\/.+/.test(value), {
      error: 'must be a postgres:// or postgresql:// connection URL',
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
  META_GRAPH_URL: optional(
    z.string().refine((value) => /^https?:\/\/[^/\s]+/.test(value), {
      error: 'must be an http(s) URL such as https://graph.facebook.com',
    }),
  ),
  META_GRAPH_VERSION: optional(
    z.string().refine((value) => /^v\d+\.\d+$/.test(value) && Number(value.slice(1)) >= minimumGraphVersion, {
      error: `must be a Graph API version such as v24.0 (v${minimumGraphVersion}.0 or newer)`,
    }),
  ),
  PRESTABOT_ENCRYPTION_KEY: optional(encryptionKey),
  PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: optional(
    z.string().refine((value) => value.split(',').every((key) => decodedLength(key.trim()) === 32), {
      error: 'must be a comma-separated list of base64 keys of 32 bytes each',
    }),
  ),
  WHATSAPP_PROFILE_FLOW_ID: optional(
    z.string().regex(/^[0-9]{1,32}$/, { error: 'must be a Flow id (digits), from WhatsApp Manager → Flows' }),
  ),
  FLOWS_PRIVATE_KEY: optional(
    z.string().refine((value) => value.includes('-----BEGIN') && value.includes('PRIVATE KEY-----'), {
      error: 'must be a PEM private key (-----BEGIN PRIVATE KEY-----)',
    }),
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
]);

const describeValue = (variable: string, value: unknown): string =>
  secretVariables.has(variable) || typeof value !== 'string'
    ? variable
    : `${variable}=${JSON.stringify(value)}`;

/** Reads and checks every variable; all problems are reported at once, one line each. */
export const loadConfig = (
  env: Readonly<Record<string, string | undefined>>,
): Result<Config, readonly ConfigProblem[]> => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    return err(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0]);
        return { variable, message: `${describeValue(variable, env[variable])} ${issue.message}` };
      }),
    );
  }
  const values = parsed.data;
  return ok({
    dataDir: values.PRESTABOT_DATA_DIR ?? './.prestabot',
    port: values.PORT ?? 3000,
    graph: {
      baseUrl: values.META_GRAPH_URL ?? 'https://graph.facebook.com',
      version: values.META_GRAPH_VERSION ?? 'v24.0',
    },
    previousEncryptionKeys:
      values.PRESTABOT_PREVIOUS_ENCRYPTION_KEYS?.split(',').map((key) => key.trim()) ?? [],
    logLevel: values.LOG_LEVEL ?? 'info',
    ...(values.DATABASE_URL === undefined ? {} : { databaseUrl: values.DATABASE_URL }),
    ...(values.WHATSAPP_VERIFY_TOKEN === undefined ? {} : { verifyToken: values.WHATSAPP_VERIFY_TOKEN }),
    ...(values.META_APP_SECRET === undefined ? {} : { deploymentAppSecret: values.META_APP_SECRET }),
    ...(values.WHATSAPP_ACCESS_TOKEN === undefined
      ? {}
      : { fallbackAccessToken: values.WHATSAPP_ACCESS_TOKEN }),
    ...(values.PRESTABOT_ENCRYPTION_KEY === undefined
      ? {}
      : { encryptionKey: values.PRESTABOT_ENCRYPTION_KEY }),
    ...(values.WHATSAPP_PROFILE_FLOW_ID === undefined
      ? {}
      : { profileFlowId: values.WHATSAPP_PROFILE_FLOW_ID }),
    ...(values.FLOWS_PRIVATE_KEY === undefined ? {} : { flowsPrivateKey: values.FLOWS_PRIVATE_KEY }),
  });
};
