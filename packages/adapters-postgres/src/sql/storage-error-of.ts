import { type StorageError, storageError } from '@prestabot/application';

/** The fields pg and PGlite put on a server error; only names, never the values of the failed row. */
type ServerErrorFields = {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly constraint?: unknown;
  readonly table?: unknown;
  readonly column?: unknown;
};

const sqlstatePattern = /^[0-9A-Z]{5}$/;

/** Socket-level failures (Node's error codes): the server cannot be reached right now. */
const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg (and PGlite, once closed) report a lost or never-made connection with a plain Error like these. */
const lostConnectionPattern =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error|not queryable|Client was closed|Cannot use a pool after calling end|PGlite is closed/i;

const reasonOfSqlstate = (code: string): StorageError['reason'] => {
  if (code === '23505') return 'duplicate';
  // Foreign key, check, not-null, and a row-level security WITH CHECK refusal.
  if (['23503', '23514', '23502', '42501'].includes(code)) return 'constraint';
  // The data itself: a data exception (invalid json, a lone surrogate) or a row over an index's limit.
  if (code.startsWith('22') || code === '54000') return 'constraint';
  // Serialization failure, deadlock, lock not available (NOWAIT): the same work may simply be retried.
  if (['40001', '40P01', '55P03'].includes(code)) return 'retryable';
  // Connection exceptions; admin/crash shutdown, cannot connect now; too many connections.
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return 'unavailable';
  return 'unexpected';
};

const describe: Record<StorageError['reason'], string> = {
  duplicate: 'a unique key already holds this value',
  constraint: 'the data was refused',
  retryable: 'a transient conflict (serialization failure or deadlock)',
  unavailable: 'the database cannot be reached',
  unexpected: 'the database failed',
};

/** Quoted parts of a server message may carry the values of the failed statement: they never leave. */
const withoutQuotedValues = (message: string): string =>
  message.replace(/"[^"]*"/g, '"…"').replace(/'[^']*'/g, "'…'");

/** Undefined schema, table or function: the database is older than the code. */
const missingSchemaCodes = new Set(['3F000', '42P01', '42883']);
const migrateHint = ' (the database is not migrated, or is older than this version: run prestabot migrate)';

const named = (label: string, value: unknown): string =>
  typeof value === 'string' && value !== '' ? ` ${label} ${value}` : '';

/**
 * Translates anything pg or PGlite threw into a StorageError, by SQLSTATE for server errors and by
 * network code for connection failures. The message names the constraint, table or column involved,
 * never a parameter value or a row's content.
 */
export const storageErrorOf = (error: unknown): StorageError => {
  const fields: ServerErrorFields = typeof error === 'object' && error !== null ? error : {};
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  if (code !== undefined && networkErrorCodes.has(code))
    return storageError('unavailable', `${describe.unavailable} (${code})`);
  if (code !== undefined && sqlstatePattern.test(code)) {
    const reason = reasonOfSqlstate(code);
    const where = `${named('constraint', fields.constraint)}${named('table', fields.table)}${named('column', fields.column)}`;
    return storageError(
      reason,
      `${describe[reason]}: SQLSTATE ${code}${where}: ${withoutQuotedValues(message)}${missingSchemaCodes.has(code) ? migrateHint : ''}`,
    );
  }
  if (lostConnectionPattern.test(message))
    return storageError('unavailable', `${describe.unavailable}: ${withoutQuotedValues(message)}`);
  return storageError('unexpected', `${describe.unexpected}: ${withoutQuotedValues(message)}`);
};
