import type { LogFields, Logger } from '@prestabot/application';
import { type LogLevel, secretFieldNames } from '@prestabot/runtime';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

/** Redaction is configuration, not discipline: these paths never reach a log line. */
export const redactedPaths = [
  ...secretFieldNames,
  ...secretFieldNames.map((key) => `*.${key}`),
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
];

class PinoAdapter implements Logger {
  readonly #pino: PinoLogger;

  constructor(logger: PinoLogger) {
    this.#pino = logger;
  }

  debug(fields: LogFields, message: string): void {
    this.#pino.debug(fields, message);
  }

  info(fields: LogFields, message: string): void {
    this.#pino.info(fields, message);
  }

  warn(fields: LogFields, message: string): void {
    this.#pino.warn(fields, message);
  }

  error(fields: LogFields, message: string): void {
    this.#pino.error(fields, message);
  }

  child(fields: LogFields): Logger {
    return new PinoAdapter(this.#pino.child(fields));
  }
}

/** JSON lines on stdout (or `destination`), with secrets redacted by configuration. */
export const createLogger = (level: LogLevel, destination?: DestinationStream): Logger =>
  new PinoAdapter(
    pino(
      {
        level,
        base: { service: 'prestabot' },
        redact: { paths: redactedPaths, censor: '[redacted]' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
