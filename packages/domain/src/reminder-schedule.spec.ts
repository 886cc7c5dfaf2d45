import { describe, expect, it } from 'vitest';
import { type LocalDate, localTimeOf, parseIsoDate, parseTimeZone, type TimeZone } from './calendar.ts';
import { parseAgreementId } from './ids.ts';
import {
  diffReminderPlans,
  type PlannedReminder,
  planReminders,
  type ReminderPlanInput,
  reminderKey,
} from './reminder-schedule.ts';

const date = (iso: string): LocalDate => parseIsoDate(iso)._unsafeUnwrap();
const zone = (name: string): TimeZone => parseTimeZone(name)._unsafeUnwrap();
const at = (iso: string): Date => new Date(iso);
const santiago = zone('America/Santiago');

const plan = (input: Partial<ReminderPlanInput> = {}) =>
  planReminders({
    dueDate: date('2026-03-20'),
    timeZone: santiago,
    sendHour: 9,
    now: at('2026-03-01T12:00:00Z'),
    ...input,
  })._unsafeUnwrap();

const summary = (reminders: readonly PlannedReminder[]) =>
  reminders.map(({ kind, recipient, localDate, scheduledAt }) => ({
    kind,
    recipient,
    localDate: `${localDate.year}-${localDate.month}-${localDate.day}`,
    scheduledAt: scheduledAt.toISOString(),
  }));

describe('reminder plan', () => {
  it('plans every reminder at 09:00 Santiago time (12:00 UTC in summer), not 09:00 UTC', () => {
    expect(summary(plan())).toEqual([
      {
        kind: 'day_before',
        recipient: 'borrower',
        localDate: '2026-3-19',
        scheduledAt: '2026-03-19T12:00:00.000Z',
      },
      {
        kind: 'due_day',
        recipient: 'borrower',
        localDate: '2026-3-20',
        scheduledAt: '2026-03-20T12:00:00.000Z',
      },
      {
        kind: 'overdue_1',
        recipient: 'borrower',
        localDate: '2026-3-21',
        scheduledAt: '2026-03-21T12:00:00.000Z',
      },
      {
        kind: 'lender_overdue_notice',
        recipient: 'lender',
        localDate: '2026-3-21',
        scheduledAt: '2026-03-21T12:00:00.000Z',
      },
      {
        kind: 'overdue_3',
        recipient: 'borrower',
        localDate: '2026-3-23',
        scheduledAt: '2026-03-23T12:00:00.000Z',
      },
      {
        kind: 'overdue_7',
        recipient: 'borrower',
        localDate: '2026-3-27',
        scheduledAt: '2026-03-27T12:00:00.000Z',
      },
    ]);
  });

  it('follows the offset change when reminders straddle the end of summer time', () => {
    const reminders = plan({ dueDate: date('2026-04-03') });
    expect(reminders.map((reminder) => reminder.scheduledAt.toISOString())).toEqual([
      '2026-04-02T12:00:00.000Z',
      '2026-04-03T12:00:00.000Z',
      '2026-04-04T12:00:00.000Z',
      '2026-04-04T12:00:00.000Z',
      '2026-04-06T13:00:00.000Z',
      '2026-04-10T13:00:00.000Z',
    ]);
    for (const reminder of reminders)
      expect(localTimeOf(reminder.scheduledAt, santiago)).toMatchObject({ hour: 9 });
  });

  it('sends at 01:00 when a midnight send hour falls on the night Chile skips midnight', () => {
    const dueDay = plan({ dueDate: date('2026-09-06'), sendHour: 0, now: at('2026-09-01T00:00:00Z') }).find(
      (reminder) => reminder.kind === 'due_day',
    );
    expect(dueDay?.scheduledAt).toEqual(at('2026-09-06T04:00:00Z'));
    expect(localTimeOf(dueDay?.scheduledAt ?? new Date(0), santiago)).toMatchObject({
      day: 6,
      hour: 1,
      minute: 0,
    });
  });

  it("uses the tenant's own zone and hour", () => {
    const reminders = plan({ timeZone: zone('Asia/Kathmandu'), sendHour: 18 });
    expect(reminders[1]?.scheduledAt).toEqual(at('2026-03-20T12:15:00Z'));
  });

  it('leaves out reminders whose moment has passed, a moment equal to now included', () => {
    const kinds = (now: string) => plan({ now: at(now) }).map((reminder) => reminder.kind);
    expect(kinds('2026-03-19T12:00:00Z')).toEqual([
      'due_day',
      'overdue_1',
      'lender_overdue_notice',
      'overdue_3',
      'overdue_7',
    ]);
    expect(kinds('2026-03-21T11:59:59Z')).toEqual([
      'overdue_1',
      'lender_overdue_notice',
      'overdue_3',
      'overdue_7',
    ]);
    expect(kinds('2026-03-27T11:59:59.999Z')).toEqual(['overdue_7']);
    expect(kinds('2026-03-27T12:00:00Z')).toEqual([]);
  });

  it('gives a loan made on its due day a due-day reminder only if the send hour is still ahead', () => {
    const dueToday = { dueDate: date('2026-03-20') };
    const beforeNine = plan({ ...dueToday, now: at('2026-03-20T11:00:00Z') });
    expect(beforeNine.map((reminder) => reminder.kind)).toContain('due_day');
    const afterNine = plan({ ...dueToday, now: at('2026-03-20T15:00:00Z') });
    expect(afterNine.map((reminder) => reminder.kind)).toEqual([
      'overdue_1',
      'lender_overdue_notice',
      'overdue_3',
      'overdue_7',
    ]);
  });

  it('refuses a send hour that is not a whole hour of the day', () => {
    for (const sendHour of [24, -1, 9.5, Number.NaN]) {
      expect(
        planReminders({
          dueDate: date('2026-03-20'),
          timeZone: santiago,
          sendHour,
          now: at('2026-03-01T00:00:00Z'),
        })._unsafeUnwrapErr(),
      ).toMatchObject({ type: 'invalid_send_hour' });
    }
  });

  it('is the same plan every time for the same inputs', () => {
    expect(plan()).toEqual(plan());
  });
});

describe('reminder keys', () => {
  it('identify a reminder by agreement, kind and local day', () => {
    const agreement = parseAgreementId('6f1c2a7e-3b9d-4c1e-9a2b-7d8e9f0a1b2c')._unsafeUnwrap();
    expect(reminderKey(agreement, 'overdue_3', date('2026-03-23'))).toBe(
      '6f1c2a7e-3b9d-4c1e-9a2b-7d8e9f0a1b2c:overdue_3:2026-03-23',
    );
  });
});

describe('plan changes', () => {
  it('changes nothing when nothing changed', () => {
    expect(diffReminderPlans(plan(), plan())).toEqual({ cancel: [], create: [], reschedule: [] });
  });

  it('cancels the old reminders and creates new ones when the due date moves', () => {
    const old = plan();
    const next = plan({ dueDate: date('2026-03-25') });
    const diff = diffReminderPlans(old, next);
    // Every kind sits at a fixed distance from the due date, so a moved date moves every key.
    expect(diff.cancel).toEqual(old);
    expect(diff.create).toEqual(next);
    expect(diff.reschedule).toEqual([]);
  });

  it('reschedules in place when only the send hour changes', () => {
    const old = plan();
    const next = plan({ sendHour: 18 });
    expect(diffReminderPlans(old, next)).toEqual({ cancel: [], create: [], reschedule: next });
  });

  it('cancels what the new plan no longer has, after the loan is overdue', () => {
    const old = plan();
    const next = plan({ now: at('2026-03-22T00:00:00Z') });
    expect(diffReminderPlans(old, next)).toEqual({
      cancel: old.slice(0, 4),
      create: [],
      reschedule: [],
    });
  });
});
