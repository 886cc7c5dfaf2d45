import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { addDays, compareLocalDates, dayOfWeek, daysBetween, type LocalDate } from './calendar.ts';
import { type DueDateError, latestDueDate, parseDueDate } from './due-date.ts';
import type { Result } from './result.ts';
import type { Locale } from './tenant.ts';

const anyLocale = fc.constantFrom<Locale>('es-CL', 'es', 'en');
const anyToday: fc.Arbitrary<LocalDate> = fc
  .integer({ min: 0, max: 33_000 })
  .map((days) => addDays({ year: 2000, month: 1, day: 1 }, days));

const pad = (value: number) => String(value).padStart(2, '0');

const expectWithinRange = (result: Result<LocalDate, DueDateError>, today: LocalDate) => {
  if (result.isErr()) return;
  expect(compareLocalDates(result.value, today)).toBeGreaterThanOrEqual(0);
  expect(compareLocalDates(result.value, latestDueDate(today))).toBeLessThanOrEqual(0);
};

/** Text made of the pieces dates are made of. */
const dateLikeText = fc
  .array(
    fc.constantFrom(
      '1',
      '15',
      '31',
      '02',
      '2027',
      '99',
      '/',
      '-',
      '.',
      ' ',
      'de',
      'el',
      'en',
      'in',
      'marzo',
      'february',
      'viernes',
      'mañana',
      'pasado',
      'semana',
      'días',
      'meses',
      'fin',
      'mes',
      'a',
      'una',
    ),
    { maxLength: 7 },
  )
  .map((pieces) => pieces.join(''));

describe('parseDueDate', () => {
  test.prop([fc.string({ unit: 'grapheme' }), anyToday, anyLocale], { numRuns: 1000 })(
    'never throws, and never answers a day before today or past the limit',
    (text, today, locale) => {
      expectWithinRange(parseDueDate(text, { today, locale }), today);
    },
  );

  test.prop([dateLikeText, anyToday, anyLocale], { numRuns: 2000 })(
    'never throws on date-like text either, nor leaves the allowed range',
    (text, today, locale) => {
      expectWithinRange(parseDueDate(text, { today, locale }), today);
    },
  );

  const futureCase = fc.tuple(anyToday, fc.nat()).map(([today, ahead]) => ({
    today,
    date: addDays(today, ahead % (daysBetween(today, latestDueDate(today)) + 1)),
  }));

  test.prop(
    [
      futureCase,
      anyLocale,
      fc.constantFrom(
        ({ day, month, year }: LocalDate) => `${pad(day)}/${pad(month)}/${year}`,
        ({ day, month, year }: LocalDate) => `${day}/${month}/${year}`,
        ({ day, month, year }: LocalDate) => `${pad(day)}-${pad(month)}-${year}`,
        ({ day, month, year }: LocalDate) => `${pad(day)}.${pad(month)}.${year}`,
        ({ day, month, year }: LocalDate) => `${pad(day)}/${pad(month)}/${pad(year % 100)}`,
      ),
    ],
    { numRuns: 1000 },
  )('reads back any allowed date written day first with its year', ({ today, date }, locale, write) => {
    expect(parseDueDate(write(date), { today, locale })._unsafeUnwrap()).toEqual(date);
  });

  test.prop([anyToday, fc.integer({ min: 1, max: 5000 }), anyLocale], { numRuns: 1000 })(
    'refuses any day before today, with the day it read',
    (today, daysAgo, locale) => {
      const past = addDays(today, -daysAgo);
      fc.pre(past.year >= 2000);
      const text = `${pad(past.day)}/${pad(past.month)}/${past.year}`;
      expect(parseDueDate(text, { today, locale })._unsafeUnwrapErr()).toMatchObject({
        type: 'due_date_in_the_past',
        date: past,
        today,
      });
    },
  );

  test.prop([anyToday, fc.integer({ min: 0, max: 364 }), anyLocale], { numRuns: 1000 })(
    'a day and month without a year is their next occurrence from today',
    (today, ahead, locale) => {
      const date = addDays(today, ahead);
      expect(parseDueDate(`${date.day}/${date.month}`, { today, locale })._unsafeUnwrap()).toEqual(date);
    },
  );

  test.prop(
    [
      anyToday,
      fc.constantFrom(
        ['lunes', 1],
        ['martes', 2],
        ['el miércoles', 3],
        ['jueves', 4],
        ['el viernes', 5],
        ['saturday', 6],
        ['sunday', 7],
      ),
      anyLocale,
    ],
    { numRuns: 1000 },
  )('a weekday is that day of the week, one to seven days ahead', (today, [text, weekday], locale) => {
    const date = parseDueDate(text, { today, locale })._unsafeUnwrap();
    expect(dayOfWeek(date)).toBe(weekday);
    expect(daysBetween(today, date)).toBeGreaterThanOrEqual(1);
    expect(daysBetween(today, date)).toBeLessThanOrEqual(7);
  });

  test.prop([anyToday, fc.integer({ min: 0, max: 3000 }), anyLocale], { numRuns: 1000 })(
    '"en N días" is N days ahead, or too far past the limit',
    (today, n, locale) => {
      const result = parseDueDate(`en ${n} días`, { today, locale });
      const expected = addDays(today, n);
      if (compareLocalDates(expected, latestDueDate(today)) > 0)
        expect(result._unsafeUnwrapErr().type).toBe('due_date_too_far');
      else expect(result._unsafeUnwrap()).toEqual(expected);
    },
  );
});
