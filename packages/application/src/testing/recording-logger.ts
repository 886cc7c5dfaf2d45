import type { LogFields, Logger } from '../ports/logger.port.ts';

export type LogLine = {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: LogFields;
  readonly message: string;
};

/** Keeps every line (with its inherited fields) for assertions. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[];
  readonly #bindings: LogFields;

  constructor(lines: LogLine[] = [], bindings: LogFields = {}) {
    this.lines = lines;
    this.#bindings = bindings;
  }

  debug(fields: LogFields, message: string): void {
    this.#write('debug', fields, message);
  }

  info(fields: LogFields, message: string): void {
    this.#write('info', fields, message);
  }

  warn(fields: LogFields, message: string): void {
    this.#write('warn', fields, message);
  }

  error(fields: LogFields, message: string): void {
    this.#write('error', fields, message);
  }

  child(fields: LogFields): Logger {
    return new RecordingLogger(this.lines, { ...this.#bindings, ...fields });
  }

  at(level: LogLine['level']): readonly LogLine[] {
    return this.lines.filter((line) => line.level === level);
  }

  #write(level: LogLine['level'], fields: LogFields, message: string): void {
    this.lines.push({ level, fields: { ...this.#bindings, ...fields }, message });
  }
}
