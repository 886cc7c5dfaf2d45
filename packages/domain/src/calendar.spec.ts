import { describe, expect, it } from 'vitest';
import {
  addDays,
  addMonths,
  compareLocalDates,
  dayOfWeek,
  daysBetween,
  daysInMonth,
  endOfMonth,
  formatIsoDate,
  type LocalDate,
  localDate,
  localDateOf,
  localTimeOf,
  parseIsoDate,
  parseTimeZone,
  type TimeZone,
  zonedInstant,
} from './calendar.ts';

const date = (iso: string): LocalDate => parseIsoDate(iso)._unsafeUnwrap();
const zone = (name: string): TimeZone => parseTimeZone(name)._unsafeUnwrap();
const at = (iso: string): Date => new Date(iso);

const santiago = zone('America/Santiago');

describe('local dates', () => {
  it('accepts only days that exist', () => {
    expect(localDate(2026, 2, 28)._unsafeUnwrap()).toEqual({ year: 2026, month: 2, day: 28 });
    expect(localDate(2028, 2, 29).isOk()).toBe(true);
    expect(localDate(2026, 2, 29)._unsafeUnwrapErr()).toMatchObject({
      type: 'invalid_date',
      value: '2026-2-29',
    });
    expect(localDate(2100, 2, 29).isErr()).toBe(true);
    expect(localDate(2000, 2, 29).isOk()).toBe(true);
    expect(localDate(2026, 4, 31).isErr()).toBe(true);
    expect(localDate(2026, 13, 1).isErr()).toBe(true);
    expect(localDate(2026, 0, 1).isErr()).toBe(true);
    expect(localDate(2026, 1, 0).isErr()).toBe(true);
    expect(localDate(2026, 1.5, 1).isErr()).toBe(true);
    expect(localDate(Number.NaN, 1, 1).isErr()).toBe(true);
    expect(localDate(0, 1, 1).isErr()).toBe(true);
    expect(localDate(10_000, 1, 1).isErr()).toBe(true);
  });

  it('knows the length of every month, leap years included', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((month) => daysInMonth(2026, month))).toEqual([
      31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
  });

  it('writes and reads ISO dates, and nothing looser', () => {
    expect(formatIsoDate({ year: 2026, month: 3, day: 5 })).toBe('2026-03-05');
    expect(formatIsoDate({ year: 987, month: 12, day: 31 })).toBe('0987-12-31');
    expect(parseIsoDate('2026-03-05')._unsafeUnwrap()).toEqual({ year: 2026, month: 3, day: 5 });
    for (const text of ['2026-3-5', '2026-02-30', '26-03-05', '2026-03-05T00:00', ' 2026-03-05', '']) {
      expect(parseIsoDate(text)._unsafeUnwrapErr()).toMatchObject({ type: 'invalid_date', value: text });
    }
  });

  it('adds days across months, years and leap days', () => {
    expect(addDays(date('2026-01-31'), 1)).toEqual(date('2026-02-01'));
    expect(addDays(date('2026-12-31'), 1)).toEqual(date('2027-01-01'));
    expect(addDays(date('2028-02-28'), 1)).toEqual(date('2028-02-29'));
    expect(addDays(date('2026-03-01'), -1)).toEqual(date('2026-02-28'));
    expect(addDays(date('2026-03-01'), 365)).toEqual(date('2027-03-01'));
    expect(addDays(date('2026-03-01'), 0)).toEqual(date('2026-03-01'));
    expect(() => addDays(date('2026-03-01'), 0.5)).toThrow(RangeError);
  });

  it('adds months keeping the day, or the last day of a shorter month', () => {
    expect(addMonths(date('2026-01-31'), 1)).toEqual(date('2026-02-28'));
    expect(addMonths(date('2028-01-31'), 1)).toEqual(date('2028-02-29'));
    expect(addMonths(date('2026-11-15'), 2)).toEqual(date('2027-01-15'));
    expect(addMonths(date('2026-03-31'), -1)).toEqual(date('2026-02-28'));
    expect(addMonths(date('2028-02-29'), 12)).toEqual(date('2029-02-28'));
  });

  it('counts and compares days', () => {
    expect(daysBetween(date('2026-01-01'), date('2027-01-01'))).toBe(365);
    expect(daysBetween(date('2028-01-01'), date('2029-01-01'))).toBe(366);
    expect(daysBetween(date('2026-03-10'), date('2026-03-01'))).toBe(-9);
    expect(compareLocalDates(date('2026-03-01'), date('2026-03-02'))).toBe(-1);
    expect(compareLocalDates(date('2026-03-02'), date('2026-03-02'))).toBe(0);
    expect(compareLocalDates(date('2027-01-01'), date('2026-12-31'))).toBe(1);
  });

  it('finds the end of the month and the day of the week', () => {
    expect(endOfMonth(date('2026-02-10'))).toEqual(date('2026-02-28'));
    expect(endOfMonth(date('2024-02-01'))).toEqual(date('2024-02-29'));
    expect(endOfMonth(date('2026-12-31'))).toEqual(date('2026-12-31'));
    expect(dayOfWeek(date('1970-01-01'))).toBe(4);
    expect(dayOfWeek(date('2026-04-05'))).toBe(7);
    expect(dayOfWeek(date('2026-09-07'))).toBe(1);
    expect(dayOfWeek(date('1969-12-29'))).toBe(1);
  });
});

describe('time zones', () => {
  it('accepts IANA names in their canonical spelling and refuses the rest', () => {
    expect(parseTimeZone('America/Santiago')._unsafeUnwrap()).toBe('America/Santiago');
    expect(parseTimeZone('america/santiago')._unsafeUnwrap()).toBe('America/Santiago');
    expect(parseTimeZone('Etc/UTC')._unsafeUnwrap()).toBe('UTC');
    for (const value of ['', ' UTC', 'Chile/Nowhere', 'UTC-3', 'GMT-03:00 Santiago']) {
      expect(parseTimeZone(value)._unsafeUnwrapErr()).toMatchObject({ type: 'invalid_time_zone', value });
    }
  });

  it('reads "today" on the tenant\'s clock, not the server\'s', () => {
    // 22:30 in Santiago in winter (UTC-4) is already the next day in UTC: the old bot's "tomorrow" bug.
    const lateEvening = at('2026-07-15T02:30:00Z');
    expect(localDateOf(lateEvening, santiago)).toEqual(date('2026-07-14'));
    expect(localDateOf(lateEvening, zone('UTC'))).toEqual(date('2026-07-15'));
    expect(localTimeOf(lateEvening, santiago)).toEqual({
      year: 2026,
      month: 7,
      day: 14,
      hour: 22,
      minute: 30,
    });
    // A fixed UTC-3 would say 23:30: Santiago is UTC-4 in winter.
    expect(localTimeOf(at('2026-01-15T02:30:00Z'), santiago).hour).toBe(23);
  });

  it('handles offsets that are not whole hours', () => {
    expect(localTimeOf(at('2026-01-01T00:00:00Z'), zone('Asia/Kathmandu'))).toMatchObject({
      hour: 5,
      minute: 45,
    });
    expect(localTimeOf(at('2026-01-01T00:00:00Z'), zone('Pacific/Chatham'))).toMatchObject({
      hour: 13,
      minute: 45,
    });
    expect(zonedInstant(date('2026-01-01'), 9, 0, zone('Asia/Kathmandu'))).toEqual(
      at('2026-01-01T03:15:00Z'),
    );
  });

  it('refuses an invalid instant or clock reading as a programming error', () => {
    expect(() => localDateOf(new Date(Number.NaN), santiago)).toThrow(RangeError);
    expect(() => zonedInstant(date('2026-01-01'), 24, 0, santiago)).toThrow(RangeError);
    expect(() => zonedInstant(date('2026-01-01'), 9, 60, santiago)).toThrow(RangeError);
    expect(() => zonedInstant(date('2026-01-01'), 9.5, 0, santiago)).toThrow(RangeError);
  });
});

// Intl (tzdata 2025c) puts Chile's 2026 transitions at midnight: summer time ends when Saturday
// 4 April reaches 24:00 (-03), which becomes 23:00 (-04) again; it starts when Saturday 5 September
// reaches 24:00 (-04), which becomes Sunday 6 September 01:00 (-03).
describe('America/Santiago in 2026', () => {
  it('changes offset at the instants Intl reports', () => {
    expect(localTimeOf(at('2026-04-05T02:59:00Z'), santiago)).toMatchObject({ day: 4, hour: 23, minute: 59 });
    expect(localTimeOf(at('2026-04-05T03:00:00Z'), santiago)).toMatchObject({ day: 4, hour: 23, minute: 0 });
    expect(localTimeOf(at('2026-09-06T03:59:00Z'), santiago)).toMatchObject({ day: 5, hour: 23, minute: 59 });
    expect(localTimeOf(at('2026-09-06T04:00:00Z'), santiago)).toMatchObject({ day: 6, hour: 1, minute: 0 });
  });

  it('sends 09:00 at 12:00 UTC in summer and 13:00 UTC in winter, either side of each change', () => {
    expect(zonedInstant(date('2026-04-04'), 9, 0, santiago)).toEqual(at('2026-04-04T12:00:00Z'));
    expect(zonedInstant(date('2026-04-05'), 9, 0, santiago)).toEqual(at('2026-04-05T13:00:00Z'));
    expect(zonedInstant(date('2026-09-05'), 9, 0, santiago)).toEqual(at('2026-09-05T13:00:00Z'));
    expect(zonedInstant(date('2026-09-06'), 9, 0, santiago)).toEqual(at('2026-09-06T12:00:00Z'));
  });

  it('takes the earlier instant for the hour that happens twice', () => {
    const first = at('2026-04-05T02:30:00Z');
    expect(zonedInstant(date('2026-04-04'), 23, 30, santiago)).toEqual(first);
    const second = new Date(first.getTime() + 60 * 60 * 1000);
    expect(localTimeOf(second, santiago)).toEqual(localTimeOf(first, santiago));
    expect(zonedInstant(date('2026-04-04'), 22, 59, santiago)).toEqual(at('2026-04-05T01:59:00Z'));
    expect(zonedInstant(date('2026-04-05'), 0, 0, santiago)).toEqual(at('2026-04-05T04:00:00Z'));
  });

  it('moves the skipped hour forward by the jump, on the same day', () => {
    const skipped = zonedInstant(date('2026-09-06'), 0, 30, santiago);
    expect(skipped).toEqual(at('2026-09-06T04:30:00Z'));
    expect(localTimeOf(skipped, santiago)).toEqual({ year: 2026, month: 9, day: 6, hour: 1, minute: 30 });
    expect(zonedInstant(date('2026-09-06'), 0, 0, santiago)).toEqual(at('2026-09-06T04:00:00Z'));
    expect(zonedInstant(date('2026-09-06'), 1, 0, santiago)).toEqual(at('2026-09-06T04:00:00Z'));
    expect(zonedInstant(date('2026-09-05'), 23, 59, santiago)).toEqual(at('2026-09-06T03:59:00Z'));
  });
});

describe('other zones with daylight saving', () => {
  it('follows New York (02:00 → 03:00 in March) and Madrid (03:00 → 02:00 in October)', () => {
    const newYork = zone('America/New_York');
    expect(zonedInstant(date('2026-03-08'), 2, 30, newYork)).toEqual(at('2026-03-08T07:30:00Z'));
    expect(localTimeOf(at('2026-03-08T07:30:00Z'), newYork)).toMatchObject({ hour: 3, minute: 30 });
    const madrid = zone('Europe/Madrid');
    expect(zonedInstant(date('2026-10-25'), 2, 30, madrid)).toEqual(at('2026-10-25T00:30:00Z'));
  });

  it('follows Lord Howe, whose clock moves only 30 minutes', () => {
    const lordHowe = zone('Australia/Lord_Howe');
    // 2026-10-04 02:00 (+10:30) becomes 02:30 (+11).
    expect(localTimeOf(zonedInstant(date('2026-10-04'), 2, 10, lordHowe), lordHowe)).toMatchObject({
      hour: 2,
      minute: 40,
    });
    // 2026-04-05 02:00 (+11) becomes 01:30 (+10:30): 01:45 happens twice, the first one wins.
    expect(zonedInstant(date('2026-04-05'), 1, 45, lordHowe)).toEqual(at('2026-04-04T14:45:00Z'));
  });

  it('needs no special case for zones without transitions', () => {
    expect(zonedInstant(date('2026-06-01'), 9, 0, zone('UTC'))).toEqual(at('2026-06-01T09:00:00Z'));
    expect(zonedInstant(date('2026-06-01'), 9, 0, zone('America/Mexico_City'))).toEqual(
      at('2026-06-01T15:00:00Z'),
    );
  });
});
