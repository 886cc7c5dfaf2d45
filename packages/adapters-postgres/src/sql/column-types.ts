import { parseIsoDate } from '@prestabot/domain';
import * as z from 'zod';

// How stored columns read back: brands, times, dates, amounts, and leaving out what is NULL.

export const branded = <T extends string>() => z.string().transform((value) => value as T);

/** Columns are timestamptz, which both drivers return as Date. */
export const storedTime = z.date();
/** Dates inside jsonb were written as ISO strings by JSON.stringify. */
export const isoTime = z.iso.datetime({ offset: true }).transform((text) => new Date(text));
/**
 * `date` columns, read as text (`due_date::text`): pg parses a date into a Date at midnight in the process's
 * time zone, which east of Greenwich is the day before in UTC.
 */
export const storedDate = z.string().transform((text, context) => {
  const parsed = parseIsoDate(text);
  if (parsed.isOk()) return parsed.value;
  context.issues.push({ code: 'custom', message: 'not a calendar date', input: null });
  return z.NEVER;
});
/** `bigint` columns, read as text (`amount_minor::text`): pg returns a string, PGlite a number. */
export const storedMinorUnits = z
  .string()
  .regex(/^[0-9]{1,15}$/)
  .transform(Number);

/** A nullable column read as an optional field: NULL becomes an absent key, not `undefined`. */
export const present = <K extends string, V>(key: K, value: V | null): { [P in K]?: V } =>
  (value === null ? {} : { [key]: value }) as { [P in K]?: V };

export const lease = { lease_owner: z.string(), leased_until: storedTime };
