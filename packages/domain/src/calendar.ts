import type { Brand } from './ids.ts';
import { err, ok, type Result } from './result.ts';

/** A day on the calendar, without time or zone: a due date, the day a reminder belongs to. */
export type LocalDate = { readonly year: number; readonly month: number; readonly day: number };

/** What a wall clock in some zone shows at an instant, to the minute. */
export type LocalDateTime = LocalDate & { readonly hour: number; readonly minute: number };

/** ISO day of the week: 1 is Monday, 7 is Sunday. */
export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** An IANA time zone name that `Intl` knows, in its canonical spelling (`America/Santiago`). */
export type TimeZone = Brand<string, 'TimeZone'>;

export type InvalidDate = {
  readonly type: 'invalid_date';
  readonly value: string;
  readonly expected: string;
};
export type InvalidTimeZone = {
  readonly type: 'invalid_time_zone';
  readonly value: string;
  readonly expected: string;
};

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;
const maxYear = 9999;

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

export const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
};

/** Years 1 to 9999, the range ISO `YYYY-MM-DD` can write. */
export const localDate = (year: number, month: number, day: number): Result<LocalDate, InvalidDate> => {
  const valid =
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    year >= 1 &&
    year <= maxYear &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month);
  return valid
    ? ok({ year, month, day })
    : err({
        type: 'invalid_date',
        value: `${year}-${month}-${day}`,
        expected: 'a day that exists on the calendar, years 1 to 9999',
      });
};

// Days since 1970-01-01 and back, in plain integer arithmetic (H. Hinnant's civil-days algorithm):
// unlike `Date.UTC` it has no two-digit-year quirk and no time of day to get wrong.
const epochDayOf = ({ year, month, day }: LocalDate): number => {
  const shiftedYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(shiftedYear / 400);
  const yearOfEra = shiftedYear - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
};

const localDateOfEpochDay = (epochDay: number): LocalDate => {
  const shifted = epochDay + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return {
    year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1,
  };
};

// Counts of days and months come from code, not from people: a fraction is a bug worth stopping on.
const requireInteger = (value: number, what: string): void => {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
};

export const addDays = (date: LocalDate, days: number): LocalDate => {
  requireInteger(days, 'days');
  return localDateOfEpochDay(epochDayOf(date) + days);
};

/** Same day of the month `months` later; a day the target month lacks becomes its last day (31/01 + 1 → 28/02). */
export const addMonths = (date: LocalDate, months: number): LocalDate => {
  requireInteger(months, 'months');
  const monthIndex = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12 + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
};

/** Whole days from `from` to `to`: negative when `to` comes first. */
export const daysBetween = (from: LocalDate, to: LocalDate): number => epochDayOf(to) - epochDayOf(from);

export const compareLocalDates = (a: LocalDate, b: LocalDate): -1 | 0 | 1 => {
  const difference = daysBetween(b, a);
  return difference < 0 ? -1 : difference > 0 ? 1 : 0;
};

export const endOfMonth = (date: LocalDate): LocalDate => ({
  year: date.year,
  month: date.month,
  day: daysInMonth(date.year, date.month),
});

/** 1970-01-01, epoch day 0, was a Thursday. */
export const dayOfWeek = (date: LocalDate): Weekday =>
  (((((epochDayOf(date) + 3) % 7) + 7) % 7) + 1) as Weekday;

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

export const formatIsoDate = (date: LocalDate): string =>
  `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;

export const parseIsoDate = (text: string): Result<LocalDate, InvalidDate> => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const invalid: InvalidDate = { type: 'invalid_date', value: text, expected: 'a date as YYYY-MM-DD' };
  if (match === null) return err(invalid);
  return localDate(Number(match[1]), Number(match[2]), Number(match[3])).mapErr(() => invalid);
};

// Every tenant row read names its zone, and building a formatter to check one costs ~0.1 ms; the valid
// names are a few hundred, so the ones seen are remembered (invalid ones are not, so they cannot pile up).
const knownTimeZones = new Map<string, TimeZone>();

export const parseTimeZone = (value: string): Result<TimeZone, InvalidTimeZone> => {
  const known = knownTimeZones.get(value);
  if (known !== undefined) return ok(known);
  try {
    const zone = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone as TimeZone;
    knownTimeZones.set(value, zone);
    return ok(zone);
  } catch {
    return err({ type: 'invalid_time_zone', value, expected: 'an IANA time zone such as America/Santiago' });
  }
};

// Building a formatter costs far more than using one, and a deployment has a handful of zones.
const formatters = new Map<TimeZone, Intl.DateTimeFormat>();

const formatterFor = (timeZone: TimeZone): Intl.DateTimeFormat => {
  const cached = formatters.get(timeZone);
  if (cached !== undefined) return cached;
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  formatters.set(timeZone, formatter);
  return formatter;
};

type WallClock = LocalDateTime & { readonly second: number };

const wallClockOf = (instant: Date, timeZone: TimeZone): WallClock => {
  if (Number.isNaN(instant.getTime())) throw new RangeError('instant is an invalid Date');
  const fields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  return fields;
};

/** The wall-clock reading as if it were UTC, in milliseconds: the arithmetic that offsets are made of. */
const wallClockMs = (date: LocalDate, hour: number, minute: number, second = 0): number =>
  epochDayOf(date) * dayMs + hour * hourMs + minute * minuteMs + second * 1000;

/** How far ahead of UTC the zone's clock runs at `instantMs` (negative in the Americas). */
const offsetMsAt = (instantMs: number, timeZone: TimeZone): number => {
  const clock = wallClockOf(new Date(instantMs), timeZone);
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  return wallClockMs(clock, clock.hour, clock.minute, clock.second) - wholeSecond;
};

/** The calendar day that `timeZone` is on at `instant`: what "today" means for a tenant. */
export const localDateOf = (instant: Date, timeZone: TimeZone): LocalDate => {
  const { year, month, day } = wallClockOf(instant, timeZone);
  return { year, month, day };
};

export const localTimeOf = (instant: Date, timeZone: TimeZone): LocalDateTime => {
  const { year, month, day, hour, minute } = wallClockOf(instant, timeZone);
  return { year, month, day, hour, minute };
};

/**
 * The instant at which the wall clock in `timeZone` shows `date` at `hour:minute`.
 *
 * - A time the clock skips (spring forward) moves forward by the size of the jump: 00:30 on the
 *   night America/Santiago jumps from 00:00 to 01:00 becomes 01:30.
 * - A time the clock shows twice (fall back) is the earlier of the two instants, so nothing that was
 *   due in the first pass waits an hour longer.
 *
 * Offsets come from `Intl`, so every historical and future rule in the runtime's tz database applies.
 * Hours 0–23 and minutes 0–59 only: anything else is a bug in the caller, not a user input.
 */
export const zonedInstant = (date: LocalDate, hour: number, minute: number, timeZone: TimeZone): Date => {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23)
    throw new RangeError(`hour must be 0–23, got ${hour}`);
  if (!Number.isInteger(minute) || minute < 0 || minute > 59)
    throw new RangeError(`minute must be 0–59, got ${minute}`);
  const wall = wallClockMs(date, hour, minute);
  // Zones change offset at most once in any two days, so the offsets a day either side are the only
  // candidates: one when nothing changes nearby, before and after a transition otherwise.
  const offsetBefore = offsetMsAt(wall - dayMs, timeZone);
  const offsetAfter = offsetMsAt(wall + dayMs, timeZone);
  const matching = [offsetBefore, offsetAfter]
    .map((offset) => wall - offset)
    .filter((instantMs) => offsetMsAt(instantMs, timeZone) === wall - instantMs);
  if (matching.length > 0) return new Date(Math.min(...matching));
  // In a gap: read the wall time with the offset in force before the jump, which lands after it.
  return new Date(wall - offsetBefore);
};
