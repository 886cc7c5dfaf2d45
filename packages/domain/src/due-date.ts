import {
  addDays,
  addMonths,
  compareLocalDates,
  dayOfWeek,
  endOfMonth,
  type InvalidDate,
  type LocalDate,
  localDate,
  type Weekday,
} from './calendar.ts';
import { err, ok, type Result } from './result.ts';
import type { Locale } from './tenant.ts';
import { foldTypedText } from './typed-text.ts';

/** The quick choices the new-loan conversation offers as buttons. */
export type DueDateOption = 'tomorrow' | 'one_week' | 'end_of_month';

/** A due date can be set at most this many years ahead: later is a typo, or not a loan we can remind. */
export const maxDueDateYearsAhead = 5;

export type DueDateError =
  | InvalidDate
  | { readonly type: 'unreadable_due_date'; readonly text: string; readonly expected: string }
  | {
      readonly type: 'due_date_in_the_past';
      readonly date: LocalDate;
      readonly today: LocalDate;
      readonly expected: string;
    }
  | { readonly type: 'due_date_too_far'; readonly latest: LocalDate; readonly expected: string };

export type DueDateOptions = {
  /** The tenant's calendar day now: `localDateOf(now, tenant time zone)`, never the server's. */
  readonly today: LocalDate;
  readonly locale: Locale;
};

/** "End of month" on the last day of a month is that same day, as the words say. */
export const dueDateFromOption = (option: DueDateOption, today: LocalDate): LocalDate => {
  switch (option) {
    case 'tomorrow':
      return addDays(today, 1);
    case 'one_week':
      return addDays(today, 7);
    case 'end_of_month':
      return endOfMonth(today);
  }
};

export const latestDueDate = (today: LocalDate): LocalDate => addMonths(today, 12 * maxDueDateYearsAhead);

const examples: Record<Locale, string> = {
  'es-CL': 'a date such as 15/03, 15/03/2027, mañana, el viernes or en 2 semanas',
  es: 'a date such as 15/03, 15/03/2027, mañana, el viernes or en 2 semanas',
  en: 'a date such as 15/03 (day first), 15/03/2027, tomorrow, friday or in 2 weeks',
};

// "ayer" is read only to answer that the date is past, which says more than "unreadable".
const phraseOffsets = new Map<string, number>([
  ['ayer', -1],
  ['yesterday', -1],
  ['hoy', 0],
  ['today', 0],
  ['manana', 1],
  ['tomorrow', 1],
  ['pasado manana', 2],
  ['day after tomorrow', 2],
  ['the day after tomorrow', 2],
  ['proxima semana', 7],
  ['la proxima semana', 7],
  ['semana que viene', 7],
  ['la semana que viene', 7],
  ['next week', 7],
]);

type Names = readonly (readonly [spanish: string, english: string])[];

/** Spanish and English names, both mapped to the 1-based position in `names`. */
const numbered = <N extends number>(names: Names): Map<string, N> =>
  new Map(
    names.flatMap(([spanish, english], index): [string, N][] => [
      [spanish, (index + 1) as N],
      [english, (index + 1) as N],
    ]),
  );

const weekdays = numbered<Weekday>([
  ['lunes', 'monday'],
  ['martes', 'tuesday'],
  ['miercoles', 'wednesday'],
  ['jueves', 'thursday'],
  ['viernes', 'friday'],
  ['sabado', 'saturday'],
  ['domingo', 'sunday'],
]);

const months = numbered<number>([
  ['enero', 'january'],
  ['febrero', 'february'],
  ['marzo', 'march'],
  ['abril', 'april'],
  ['mayo', 'may'],
  ['junio', 'june'],
  ['julio', 'july'],
  ['agosto', 'august'],
  ['septiembre', 'september'],
  ['octubre', 'october'],
  ['noviembre', 'november'],
  ['diciembre', 'december'],
]).set('setiembre', 9);

const relativePattern =
  /^(?:(?:en|in|dentro de|within) )?(\d+|un|una|uno|one|a) (dias?|days?|semanas?|weeks?|mes|meses|months?)$/;
const weekdayPattern = new RegExp(
  `^(?:(?:este|esta|el|proximo|next|this|coming|on) )*(${[...weekdays.keys()].join('|')})(?: (?:que viene|proximo))?$`,
);
const monthNames = [...months.keys()].join('|');
const dayMonthPattern = new RegExp(
  `^(\\d{1,2})(?:st|nd|rd|th)?(?: de| of)? (${monthNames})(?:,? (?:(?:de|del) )?(\\d{4}))?$`,
);
const monthDayPattern = new RegExp(`^(${monthNames}) (\\d{1,2})(?:st|nd|rd|th)?(?:,? (\\d{4}))?$`);
// Day first everywhere, as the question shows it: "03/04" is the 3rd of April in English tenants too.
const numericPattern = /^(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?$/;
const isoPattern = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const endOfMonthPattern = /^(?:(?:a|al|the) )?(?:fin|final|end) (?:de|del|of) (?:the )?(?:mes|month)$/;
const fillers = /^(?:(?:para|hasta|el|on|by|until|due) )+/;

// Any count past this is beyond the five-year limit; capping it keeps the date arithmetic exact.
const maxRelativeCount = 100_000;

const fromRelative = (amount: string, unit: string, today: LocalDate): LocalDate => {
  const n = /^\d+$/.test(amount) ? Math.min(Number(amount), maxRelativeCount) : 1;
  if (unit.startsWith('mes') || unit.startsWith('month')) return addMonths(today, n);
  return addDays(today, unit.startsWith('semana') || unit.startsWith('week') ? 7 * n : n);
};

/** The next such weekday after today: "el viernes" said on a Friday is a week away, never today. */
const nextWeekday = (weekday: Weekday, today: LocalDate): LocalDate =>
  addDays(today, ((weekday - dayOfWeek(today) + 6) % 7) + 1);

/**
 * A day and month with the year if typed. Without a year it is the next time that day comes:
 * this year unless already past, else next year (a 29/02 that year lacks is an invalid date).
 * Two-digit years are 20yy.
 */
const fromParts = (
  day: number,
  month: number,
  year: string | undefined,
  today: LocalDate,
  text: string,
): Result<LocalDate, InvalidDate> => {
  const upcomingYear =
    month > today.month || (month === today.month && day >= today.day) ? today.year : today.year + 1;
  const fullYear = year === undefined ? upcomingYear : year.length === 2 ? 2000 + Number(year) : Number(year);
  return localDate(fullYear, month, day).mapErr(() => ({
    type: 'invalid_date',
    value: text,
    expected: 'a day that exists, e.g. 28/02 but not 31/02',
  }));
};

/** The date `folded` names, whatever its range; undefined when it names none. */
const read = (folded: string, today: LocalDate, text: string): Result<LocalDate, InvalidDate> | undefined => {
  const phrase = folded.replace(/[.!?]+$/, '').replace(fillers, '');
  const offset = phraseOffsets.get(phrase);
  if (offset !== undefined) return ok(addDays(today, offset));
  if (endOfMonthPattern.test(phrase)) return ok(endOfMonth(today));
  const relative = relativePattern.exec(phrase);
  if (relative !== null) return ok(fromRelative(relative[1] ?? '', relative[2] ?? '', today));
  const weekday = weekdays.get(weekdayPattern.exec(phrase)?.[1] ?? '');
  if (weekday !== undefined) return ok(nextWeekday(weekday, today));
  const numeric = numericPattern.exec(phrase);
  if (numeric !== null) return fromParts(Number(numeric[1]), Number(numeric[3]), numeric[4], today, text);
  const iso = isoPattern.exec(phrase);
  if (iso !== null) return fromParts(Number(iso[3]), Number(iso[2]), iso[1], today, text);
  const dayMonth = dayMonthPattern.exec(phrase);
  if (dayMonth !== null)
    return fromParts(Number(dayMonth[1]), months.get(dayMonth[2] ?? '') ?? 0, dayMonth[3], today, text);
  const monthDay = monthDayPattern.exec(phrase);
  if (monthDay !== null)
    return fromParts(Number(monthDay[2]), months.get(monthDay[1] ?? '') ?? 0, monthDay[3], today, text);
  return undefined;
};

/**
 * Reads a due date as people type it: `15/03`, `15/3/27`, `15-03-2027`, `2027-03-15`, `15 de marzo`,
 * `march 15`, `hoy`/`today`, `mañana`/`tomorrow`, `pasado mañana`, `en una semana`/`in a week`,
 * `en 10 días`/`in 10 days`, `en 2 meses`, `fin de mes`/`end of month`, `el viernes`/`friday`.
 * Spanish and English words are read for every locale (people mix them and no word means different
 * things in the two); the locale only picks the examples in `expected`.
 * The result is never before `today` (today itself is allowed) and at most five years ahead.
 */
export const parseDueDate = (
  text: string,
  { today, locale }: DueDateOptions,
): Result<LocalDate, DueDateError> => {
  const reading = read(foldTypedText(text), today, text);
  if (reading === undefined) return err({ type: 'unreadable_due_date', text, expected: examples[locale] });
  return reading.andThen((date): Result<LocalDate, DueDateError> => {
    if (compareLocalDates(date, today) < 0)
      return err({ type: 'due_date_in_the_past', date, today, expected: 'today or a later day' });
    const latest = latestDueDate(today);
    if (compareLocalDates(date, latest) > 0)
      return err({
        type: 'due_date_too_far',
        latest,
        expected: `at most ${maxDueDateYearsAhead} years ahead`,
      });
    return ok(date);
  });
};
