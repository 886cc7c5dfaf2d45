import { describe, expect, it } from 'vitest';
import { type LocalDate, localDateOf, parseIsoDate, parseTimeZone } from './calendar.ts';
import { type DueDateOptions, dueDateFromOption, latestDueDate, parseDueDate } from './due-date.ts';

const date = (iso: string): LocalDate => parseIsoDate(iso)._unsafeUnwrap();

// Tuesday 10 March 2026.
const today = date('2026-03-10');
const spanish: DueDateOptions = { today, locale: 'es-CL' };
const english: DueDateOptions = { today, locale: 'en' };

const parsed = (text: string, options = spanish) => parseDueDate(text, options)._unsafeUnwrap();
const refused = (text: string, options = spanish) => parseDueDate(text, options)._unsafeUnwrapErr();

describe('quick options', () => {
  it("counts from the tenant's today", () => {
    expect(dueDateFromOption('tomorrow', today)).toEqual(date('2026-03-11'));
    expect(dueDateFromOption('one_week', today)).toEqual(date('2026-03-17'));
    expect(dueDateFromOption('end_of_month', today)).toEqual(date('2026-03-31'));
    expect(dueDateFromOption('tomorrow', date('2026-12-31'))).toEqual(date('2027-01-01'));
    expect(dueDateFromOption('end_of_month', date('2028-02-03'))).toEqual(date('2028-02-29'));
    expect(dueDateFromOption('end_of_month', date('2026-03-31'))).toEqual(date('2026-03-31'));
  });

  it('takes "tomorrow" from the tenant\'s zone: 22:30 in Santiago is still the 14th', () => {
    const now = new Date('2026-07-15T02:30:00Z');
    const santiagoToday = localDateOf(now, parseTimeZone('America/Santiago')._unsafeUnwrap());
    expect(dueDateFromOption('tomorrow', santiagoToday)).toEqual(date('2026-07-15'));
  });
});

describe('typed dates', () => {
  it.each([
    ['15/03', '2026-03-15'],
    ['15/3', '2026-03-15'],
    ['5/4', '2026-04-05'],
    ['10/03', '2026-03-10'],
    ['09/03', '2027-03-09'],
    ['01/01', '2027-01-01'],
    ['15/03/27', '2027-03-15'],
    ['15/03/2027', '2027-03-15'],
    ['15-03-2027', '2027-03-15'],
    ['15.03.2027', '2027-03-15'],
    ['2027-03-15', '2027-03-15'],
    ['el 15/03', '2026-03-15'],
    ['para el 15/03', '2026-03-15'],
    ['15 de marzo', '2026-03-15'],
    ['15 marzo 2027', '2027-03-15'],
    ['15 de marzo de 2027', '2027-03-15'],
    ['1 de Septiembre', '2026-09-01'],
    ['1 de setiembre', '2026-09-01'],
    ['march 15', '2026-03-15'],
    ['March 15th, 2027', '2027-03-15'],
    ['15th of March', '2026-03-15'],
  ])('%j is %s', (text, iso) => {
    expect(parsed(text)).toEqual(date(iso));
  });

  it('reads day first in English tenants too, as the question shows it', () => {
    expect(parsed('03/04', english)).toEqual(date('2026-04-03'));
    expect(refused('12/25', english)).toMatchObject({ type: 'invalid_date', value: '12/25' });
  });

  it('refuses days that do not exist', () => {
    expect(refused('31/02')).toMatchObject({ type: 'invalid_date', value: '31/02' });
    expect(refused('31/04/2026').type).toBe('invalid_date');
    expect(refused('29/02/2027').type).toBe('invalid_date');
    expect(refused('00/03').type).toBe('invalid_date');
    expect(refused('15/13').type).toBe('invalid_date');
    expect(refused('32 de marzo').type).toBe('invalid_date');
  });

  it('takes 29/02 without a year only when the coming February has it', () => {
    expect(refused('29/02')).toMatchObject({ type: 'invalid_date' });
    expect(parsed('29/02', { today: date('2027-03-01'), locale: 'es' })).toEqual(date('2028-02-29'));
    expect(parsed('29/02', { today: date('2028-01-15'), locale: 'es' })).toEqual(date('2028-02-29'));
  });

  it('refuses a date before today, and accepts today', () => {
    expect(refused('09/03/2026')).toEqual({
      type: 'due_date_in_the_past',
      date: date('2026-03-09'),
      today,
      expected: 'today or a later day',
    });
    expect(refused('1/1/26').type).toBe('due_date_in_the_past');
    expect(refused('2025-12-31').type).toBe('due_date_in_the_past');
    expect(refused('ayer')).toMatchObject({ type: 'due_date_in_the_past', date: date('2026-03-09') });
    expect(refused('yesterday', english).type).toBe('due_date_in_the_past');
    expect(parsed('10/03/2026')).toEqual(today);
  });

  it('refuses a date more than five years ahead', () => {
    expect(parsed('10/03/2031')).toEqual(date('2031-03-10'));
    expect(refused('11/03/2031')).toMatchObject({ type: 'due_date_too_far', latest: date('2031-03-10') });
    expect(refused('15/03/99').type).toBe('due_date_too_far');
    expect(latestDueDate(date('2028-02-29'))).toEqual(date('2033-02-28'));
  });
});

describe('words', () => {
  it.each([
    ['hoy', '2026-03-10'],
    ['Today', '2026-03-10'],
    ['mañana', '2026-03-11'],
    ['manana', '2026-03-11'],
    ['MAÑANA!', '2026-03-11'],
    ['tomorrow', '2026-03-11'],
    ['pasado mañana', '2026-03-12'],
    ['the day after tomorrow', '2026-03-12'],
    ['en una semana', '2026-03-17'],
    ['en 1 semana', '2026-03-17'],
    ['una semana', '2026-03-17'],
    ['in a week', '2026-03-17'],
    ['la próxima semana', '2026-03-17'],
    ['next week', '2026-03-17'],
    ['en 2 semanas', '2026-03-24'],
    ['en 10 días', '2026-03-20'],
    ['en 1 dia', '2026-03-11'],
    ['3 días', '2026-03-13'],
    ['in 10 days', '2026-03-20'],
    ['en un mes', '2026-04-10'],
    ['in 2 months', '2026-05-10'],
    ['fin de mes', '2026-03-31'],
    ['a fin de mes', '2026-03-31'],
    ['fin del mes', '2026-03-31'],
    ['end of month', '2026-03-31'],
    ['end of the month', '2026-03-31'],
  ])('%j is %s', (text, iso) => {
    expect(parsed(text)).toEqual(date(iso));
  });

  it('reads weekdays as the next such day, never today', () => {
    expect(parsed('viernes')).toEqual(date('2026-03-13'));
    expect(parsed('el viernes')).toEqual(date('2026-03-13'));
    expect(parsed('el próximo viernes')).toEqual(date('2026-03-13'));
    expect(parsed('Friday', english)).toEqual(date('2026-03-13'));
    expect(parsed('next friday', english)).toEqual(date('2026-03-13'));
    expect(parsed('miércoles')).toEqual(date('2026-03-11'));
    expect(parsed('el lunes')).toEqual(date('2026-03-16'));
    expect(parsed('el martes')).toEqual(date('2026-03-17'));
    expect(parsed('on tuesday', english)).toEqual(date('2026-03-17'));
    expect(parsed('sábado')).toEqual(date('2026-03-14'));
    expect(parsed('domingo')).toEqual(date('2026-03-15'));
  });

  it('reads both languages whatever the locale', () => {
    expect(parsed('tomorrow', spanish)).toEqual(date('2026-03-11'));
    expect(parsed('mañana', english)).toEqual(date('2026-03-11'));
  });

  it('refuses counts past the limit without overflowing', () => {
    expect(refused('en 2000 días').type).toBe('due_date_too_far');
    expect(refused(`en ${'9'.repeat(400)} meses`).type).toBe('due_date_too_far');
    expect(parsed('en 0 días')).toEqual(today);
  });

  it("refuses anything else with examples in the tenant's language", () => {
    for (const text of [
      '',
      '   ',
      'cuando pueda',
      'anteayer',
      '15/03/027',
      '15/03-2027',
      'en -3 días',
      '1503',
    ])
      expect(refused(text)).toMatchObject({ type: 'unreadable_due_date', text });
    expect(refused('whenever').expected).toContain('mañana');
    expect(refused('whenever', english).expected).toContain('tomorrow');
  });
});
