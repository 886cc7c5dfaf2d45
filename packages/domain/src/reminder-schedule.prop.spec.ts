import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  addDays,
  daysBetween,
  formatIsoDate,
  type LocalDate,
  type LocalDateTime,
  localTimeOf,
  parseIsoDate,
  type TimeZone,
  zonedInstant,
} from './calendar.ts';
import {
  diffReminderPlans,
  type PlannedReminder,
  planReminders,
  type ReminderKind,
  spreadWithinHourMs,
} from './reminder-schedule.ts';
import { awkwardZones, zone } from './time-zones.fixture.ts';

/** Stated independently of the implementation's table: what each reminder is, from the spec. */
const expected: Record<ReminderKind, { readonly offsetDays: number; readonly recipient: string }> = {
  day_before: { offsetDays: -1, recipient: 'borrower' },
  due_day: { offsetDays: 0, recipient: 'borrower' },
  overdue_1: { offsetDays: 1, recipient: 'borrower' },
  overdue_3: { offsetDays: 3, recipient: 'borrower' },
  overdue_7: { offsetDays: 7, recipient: 'borrower' },
  lender_overdue_notice: { offsetDays: 1, recipient: 'lender' },
};
const kinds = Object.keys(expected) as ReminderKind[];

const minuteMs = 60_000;
const wallMs = (time: LocalDateTime): number =>
  Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute);

// Days on which the send hour falls in a DST gap (2026, per Intl): the shifted-hour branch gets exercised.
const gapDays: readonly { zone: TimeZone; day: LocalDate; sendHour: number }[] = [
  { zone: zone('America/Santiago'), day: parseIsoDate('2026-09-06')._unsafeUnwrap(), sendHour: 0 },
  { zone: zone('America/New_York'), day: parseIsoDate('2026-03-08')._unsafeUnwrap(), sendHour: 2 },
  { zone: zone('Europe/Madrid'), day: parseIsoDate('2026-03-29')._unsafeUnwrap(), sendHour: 2 },
  { zone: zone('Australia/Lord_Howe'), day: parseIsoDate('2026-10-04')._unsafeUnwrap(), sendHour: 2 },
  { zone: zone('Pacific/Chatham'), day: parseIsoDate('2026-09-27')._unsafeUnwrap(), sendHour: 3 },
];

const anyDueDate = fc
  .integer({ min: 0, max: 33_000 })
  .map((days) => addDays({ year: 2000, month: 1, day: 1 }, days));

const planCase = fc
  .oneof(
    {
      arbitrary: fc.record({
        dueDate: anyDueDate,
        timeZone: fc.constantFrom(...awkwardZones),
        sendHour: fc.integer({ min: 0, max: 23 }),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom(...gapDays), fc.constantFrom(...kinds)).map(([gap, kind]) => ({
        dueDate: addDays(gap.day, -expected[kind].offsetDays),
        timeZone: gap.zone,
        sendHour: gap.sendHour,
      })),
      weight: 1,
    },
  )
  .chain((input) =>
    // Clocks from two weeks before the due date to ten days after: full plans, partial ones and empty ones.
    fc.integer({ min: -14 * 24 * 60, max: 10 * 24 * 60 }).map((minutes) => ({
      ...input,
      now: new Date(zonedInstant(input.dueDate, 12, 0, input.timeZone).getTime() + minutes * minuteMs),
    })),
  );

describe('planReminders', () => {
  test.prop([planCase], { numRuns: 2000 })(
    'plans each kind at most once, in the future, on its day at the send hour (shifted only by a DST gap)',
    ({ dueDate, timeZone, sendHour, now }) => {
      const reminders = planReminders({ dueDate, timeZone, sendHour, now })._unsafeUnwrap();
      expect(new Set(reminders.map((reminder) => reminder.kind)).size).toBe(reminders.length);
      for (const reminder of reminders) {
        expect(reminder.scheduledAt.getTime()).toBeGreaterThan(now.getTime());
        expect(reminder.recipient).toBe(expected[reminder.kind].recipient);
        expect(reminder.localDate).toEqual(addDays(dueDate, expected[reminder.kind].offsetDays));
        const shown = localTimeOf(reminder.scheduledAt, timeZone);
        const wanted = { ...reminder.localDate, hour: sendHour, minute: 0 };
        if (wallMs(shown) !== wallMs(wanted)) {
          // Only a wall time nobody's clock shows may move, and only forward, by at most the jump.
          const late = wallMs(shown) - wallMs(wanted);
          expect(late).toBeGreaterThan(0);
          expect(late).toBeLessThanOrEqual(2 * 60 * minuteMs);
          expect(daysBetween(reminder.localDate, shown)).toBeOneOf([0, 1]);
          const candidates = Array.from(
            { length: 105 },
            (_, index) => wallMs(wanted) - (index - 48) * 15 * minuteMs,
          );
          for (const candidate of candidates)
            expect(wallMs(localTimeOf(new Date(candidate), timeZone))).not.toBe(wallMs(wanted));
        }
      }
    },
  );

  test.prop([planCase], { numRuns: 1000 })(
    'leaves out exactly the reminders whose moment is not after now, and lists the rest in time order',
    ({ dueDate, timeZone, sendHour, now }) => {
      const reminders = planReminders({ dueDate, timeZone, sendHour, now })._unsafeUnwrap();
      const planned = new Set(reminders.map((reminder) => reminder.kind));
      for (const kind of kinds) {
        const moment = zonedInstant(addDays(dueDate, expected[kind].offsetDays), sendHour, 0, timeZone);
        expect(planned.has(kind)).toBe(moment.getTime() > now.getTime());
      }
      const times = reminders.map((reminder) => reminder.scheduledAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
    },
  );

  test.prop([planCase, fc.uuid()], { numRuns: 500 })(
    "spread by a loan's id, its reminders keep one place within the send hour, and only those after now are planned",
    ({ dueDate, timeZone, sendHour, now }, spreadKey) => {
      const spread = planReminders({ dueDate, timeZone, sendHour, now, spreadKey })._unsafeUnwrap();
      const offset = spreadWithinHourMs(spreadKey);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(60 * minuteMs);
      for (const kind of kinds) {
        const hour = zonedInstant(addDays(dueDate, expected[kind].offsetDays), sendHour, 0, timeZone);
        const planned = spread.find((reminder) => reminder.kind === kind);
        expect(planned?.scheduledAt.getTime()).toBe(
          hour.getTime() + offset > now.getTime() ? hour.getTime() + offset : undefined,
        );
      }
    },
  );

  test('spreads many loans evenly over the hour: no minute holds three times its share', () => {
    const loans = 6000;
    const perMinute = new Array<number>(60).fill(0);
    for (let loan = 0; loan < loans; loan += 1)
      perMinute[Math.floor(spreadWithinHourMs(`loan-${loan}`) / minuteMs)]! += 1;
    expect(Math.max(...perMinute)).toBeLessThan((3 * loans) / 60);
    expect(Math.min(...perMinute)).toBeGreaterThan(loans / 60 / 3);
  });

  test.prop([planCase, fc.integer({ min: 0, max: 10 * 24 * 60 })], { numRuns: 1000 })(
    'is deterministic, and a later clock only drops reminders',
    ({ dueDate, timeZone, sendHour, now }, laterMinutes) => {
      const input = { dueDate, timeZone, sendHour, now };
      const first = planReminders(input)._unsafeUnwrap();
      expect(planReminders({ ...input, now: new Date(now.getTime()) })._unsafeUnwrap()).toEqual(first);
      const later = planReminders({
        ...input,
        now: new Date(now.getTime() + laterMinutes * minuteMs),
      })._unsafeUnwrap();
      expect(first.slice(first.length - later.length)).toEqual(later);
    },
  );

  test.prop([fc.oneof(fc.integer(), fc.double())], { numRuns: 1000 })(
    'accepts exactly the whole hours 0 to 23',
    (sendHour) => {
      const result = planReminders({
        dueDate: { year: 2026, month: 3, day: 20 },
        timeZone: awkwardZones[0] ?? zone('UTC'),
        sendHour,
        now: new Date(0),
      });
      expect(result.isOk()).toBe(Number.isInteger(sendHour) && sendHour >= 0 && sendHour <= 23);
    },
  );
});

describe('diffReminderPlans', () => {
  const key = (reminder: PlannedReminder) => `${reminder.kind}:${formatIsoDate(reminder.localDate)}`;
  const asMap = (reminders: readonly PlannedReminder[]) =>
    new Map(reminders.map((reminder) => [key(reminder), reminder.scheduledAt.getTime()]));

  test.prop([planCase, planCase, fc.constantFrom('everything', 'all but the due date', 'only the clock')], {
    numRuns: 1000,
  })(
    'applied to the old plan gives the new one, and touches nothing that did not change',
    (oldInput, newInput, changed) => {
      const old = planReminders(oldInput)._unsafeUnwrap();
      const nextInput =
        changed === 'everything'
          ? newInput
          : changed === 'all but the due date'
            ? { ...newInput, dueDate: oldInput.dueDate }
            : { ...oldInput, now: newInput.now };
      const next = planReminders(nextInput)._unsafeUnwrap();
      const { cancel, create, reschedule } = diffReminderPlans(old, next);
      const applied = asMap(old);
      for (const reminder of cancel) applied.delete(key(reminder));
      for (const reminder of [...create, ...reschedule])
        applied.set(key(reminder), reminder.scheduledAt.getTime());
      expect(applied).toEqual(asMap(next));
      const untouched = old.filter(
        (reminder) => asMap(next).get(key(reminder)) === reminder.scheduledAt.getTime(),
      );
      for (const reminder of untouched) {
        expect([...cancel, ...create, ...reschedule].map(key)).not.toContain(key(reminder));
      }
      expect(diffReminderPlans(next, next)).toEqual({ cancel: [], create: [], reschedule: [] });
    },
  );
});
