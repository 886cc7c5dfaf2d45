import { type StorageError, storageError } from '@prestabot/application';
import { err, ok, type Result } from '@prestabot/domain';
import * as z from 'zod';
import { storedTime } from './column-types.ts';
import type { SqlRow } from './sql-driver.ts';

// Reading query results: every row is validated before it becomes a domain value, and a row that does
// not read is a `storage_error` naming what it was.

export const idRow = z.object({ id: z.string() }).transform((row) => row.id);

/** The ids an INSERT … RETURNING stored, in the order they were given: RETURNING promises none. */
export const inInputOrder = (
  given: readonly { readonly id: string }[],
  stored: readonly string[],
): string[] => {
  const storedIds = new Set(stored);
  return given.map((entry) => entry.id).filter((id) => storedIds.has(id));
};

/** Names what did not match, never the values: a row may hold a secret or a person's message. */
export const shapeError = (what: string, error: z.ZodError): StorageError =>
  storageError(
    'unexpected',
    `a ${what} row read back does not have the expected shape (${error.issues
      .map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.code}`)
      .join('; ')})`,
  );

/** Validates every row into its domain value. */
export const readRows =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<readonly T[], StorageError> => {
    const values: T[] = [];
    for (const row of rows) {
      const parsed = schema.safeParse(row);
      if (!parsed.success) return err(shapeError(what, parsed.error));
      values.push(parsed.data);
    }
    return ok(values);
  };

/** The database's clock (`SELECT clock_timestamp() AS now`). */
export const databaseTimeRow = z.object({ now: storedTime }).transform((row) => row.now);

/** A row that failed its schema: its key, and why, for quarantine. */
export type UnreadableRow = { readonly id: string; readonly tenantId: string; readonly reason: string };

/**
 * Validates each row on its own: one row of a shape this version cannot read does not hide the others
 * (a claim quarantines it and hands out the rest).
 */
export const readEachRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (
    rows: readonly SqlRow[],
  ): { readonly read: readonly T[]; readonly unreadable: readonly UnreadableRow[] } => {
    const read: T[] = [];
    const unreadable: UnreadableRow[] = [];
    for (const row of rows) {
      const parsed = schema.safeParse(row);
      if (parsed.success) read.push(parsed.data);
      else
        unreadable.push({
          id: String(row.id),
          tenantId: String(row.tenant_id),
          reason: shapeError(what, parsed.error).message,
        });
    }
    return { read, unreadable };
  };

/** The one row a query returns, or undefined when it returns none. */
export const readOptionalRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<T | undefined, StorageError> =>
    readRows(schema, what)(rows).map((values) => values[0]);

/** The one row a query must return. */
export const readRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<T, StorageError> =>
    rows.length === 0
      ? err(storageError('unexpected', `no ${what} row was returned`))
      : readRows(schema, what)(rows).map((values) => values[0]!);
