import type { LogFields, Logger } from '@prestabot/application';
import type { LogLevel } from './config.ts';

/**
 * Field names that may hold a secret, wherever they appear in a log line. Redaction is configuration,
 * not discipline: a secret that reaches a log call by mistake still never reaches the log.
 */
export const secretFieldNames: readonly string[] = [
  'accessToken',
  'access_token',
  'token',
  'appSecret',
  'app_secret',
  'secret',
  'password',
  'authorization',
  'encryptionKey',
  'privateKey',
  'verifyToken',
  'verify_token',
];

const secretFields = new Set(secretFieldNames);
const levels: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

const redacted = (value: unknown, depth = 0): unknown => {
  if (typeof value !== 'object' || value === null || depth > 4) return value;
  if (Array.isArray(value)) return value.map((item) => redacted(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      secretFields.has(key) ? '[redacted]' : redacted(item, depth + 1),
    ]),
  );
};

/** JSON lines through `write` (console.log at the edge), secrets redacted, for runtimes without pino. */
export class JsonLogger implements Logger {
  readonly #level: LogLevel;
  readonly #minimum: number;
  readonly #bindings: LogFields;
  readonly #write: (line: string) => void;

  constructor(
    level: LogLevel,
    write: (line: string) => void,
    bindings: LogFields = { service: 'prestabot' },
  ) {
    this.#level = level;
    this.#minimum = level === 'silent' ? Number.POSITIVE_INFINITY : levels.indexOf(level);
    this.#write = write;
    this.#bindings = bindings;
  }

  debug(fields: LogFields, message: string): void {
    this.#log('debug', fields, message);
  }

  info(fields: LogFields, message: string): void {
    this.#log('info', fields, message);
  }

  warn(fields: LogFields, message: string): void {
    this.#log('warn', fields, message);
  }

  error(fields: LogFields, message: string): void {
    this.#log('error', fields, message);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.#level, this.#write, { ...this.#bindings, ...fields });
  }

  #log(level: LogLevel, fields: LogFields, message: string): void {
    if (levels.indexOf(level) < this.#minimum) return;
    this.#write(
      JSON.stringify(
        redacted({ level, time: new Date().toISOString(), ...this.#bindings, ...fields, msg: message }),
      ),
    );
  }
}
