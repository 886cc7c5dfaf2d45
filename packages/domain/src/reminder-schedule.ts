import { addDays, formatIsoDate, type LocalDate, type TimeZone, zonedInstant } from './calendar.ts';
import type { AgreementId } from './ids.ts';
import { err, ok, type Result } from './result.ts';

export type ReminderKind =
  | 'day_before'
  | 'due_day'
  | 'overdue_1'
  | 'overdue_3'
  | 'overdue_7'
  | 'lender_overdue_notice';

export type ReminderRecipient = 'borrower' | 'lender';

export type ReminderRule = {
  readonly kind: ReminderKind;
  readonly recipient: ReminderRecipient;
  /** Days from the due date to the day the reminder goes out. */
  readonly offsetDays: number;
};

/** Every reminder a loan gets, in the order they go out. */
export const reminderRules: readonly ReminderRule[] = [
  { kind: 'day_before', recipient: 'borrower', offsetDays: -1 },
  { kind: 'due_day', recipient: 'borrower', offsetDays: 0 },
  { kind: 'overdue_1', recipient: 'borrower', offsetDays: 1 },
  { kind: 'lender_overdue_notice', recipient: 'lender', offsetDays: 1 },
  { kind: 'overdue_3', recipient: 'borrower', offsetDays: 3 },
  { kind: 'overdue_7', recipient: 'borrower', offsetDays: 7 },
];

export type PlannedReminder = {
  readonly kind: ReminderKind;
  readonly recipient: ReminderRecipient;
  /** The tenant's calendar day the reminder belongs to; with the agreement and kind, its identity. */
  readonly localDate: LocalDate;
  readonly scheduledAt: Date;
};

export type InvalidSendHour = {
  readonly type: 'invalid_send_hour';
  readonly value: number;
  readonly expected: string;
};

export type ReminderPlanInput = {
  readonly dueDate: LocalDate;
  readonly timeZone: TimeZone;
  /** The tenant's local hour (0–23) at which reminders go out. */
  readonly sendHour: number;
  readonly now: Date;
  /**
   * Spreads the reminders across their hour by this key (the loan's id): the same minute and second every
   * day for one loan, evenly over the hour for a tenant's many. Without it they go at the hour sharp.
   */
  readonly spreadKey?: string;
};

const hourMs = 60 * 60 * 1000;

/**
 * Where in the send hour a key's reminders go, in whole seconds: FNV-1a of the key, so it is the same on
 * every run and every machine, and a tenant's thousands of loans land evenly over the hour instead of in
 * one burst at :00 (which Meta's per-number throughput and a portfolio's messaging limit would both feel).
 */
export const spreadWithinHourMs = (key: string): number => {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % (hourMs / 1000)) * 1000;
};

/**
 * The reminders still to send for a loan due on `dueDate`: each within `sendHour` on the tenant's wall
 * clock (at the loan's place in that hour, see `spreadKey`) (shifted forward when a DST jump skips that hour), and only those whose moment is after `now`.
 *
 * No catch-up: a reminder whose moment has passed is not created, not even the due-day one for a loan
 * created (or confirmed, or moved) on its due day after the send hour. What triggered the plan already
 * told both people the date seconds ago; a "due today" right after it would read as spam, and outside
 * the 24-hour window it would cost a template message. The next reminder (overdue +1) follows as usual.
 */
export const planReminders = ({
  dueDate,
  timeZone,
  sendHour,
  now,
  spreadKey,
}: ReminderPlanInput): Result<readonly PlannedReminder[], InvalidSendHour> => {
  if (!Number.isInteger(sendHour) || sendHour < 0 || sendHour > 23)
    return err({ type: 'invalid_send_hour', value: sendHour, expected: 'a whole hour from 0 to 23' });
  const spreadMs = spreadKey === undefined ? 0 : spreadWithinHourMs(spreadKey);
  return ok(
    reminderRules
      .map(({ kind, recipient, offsetDays }): PlannedReminder => {
        const localDate = addDays(dueDate, offsetDays);
        const hour = zonedInstant(localDate, sendHour, 0, timeZone);
        return { kind, recipient, localDate, scheduledAt: new Date(hour.getTime() + spreadMs) };
      })
      .filter((reminder) => reminder.scheduledAt.getTime() > now.getTime()),
  );
};

const kindAndDay = (kind: ReminderKind, localDate: LocalDate): string =>
  `${kind}:${formatIsoDate(localDate)}`;

/** The idempotency key of a reminder: at most one per agreement, kind and local day, however many workers. */
export const reminderKey = (agreementId: AgreementId, kind: ReminderKind, localDate: LocalDate): string =>
  `${agreementId}:${kindAndDay(kind, localDate)}`;

export type ReminderPlanDiff = {
  /** In the old plan only: cancel them. */
  readonly cancel: readonly PlannedReminder[];
  /** In the new plan only: create them. */
  readonly create: readonly PlannedReminder[];
  /** Same kind and day, another moment (the send hour or time zone changed): update them in place. */
  readonly reschedule: readonly PlannedReminder[];
};

const identityOf = (reminder: PlannedReminder): string => kindAndDay(reminder.kind, reminder.localDate);

/**
 * What turns the pending reminders of one agreement (`old`, those not yet sent) into a new plan, after
 * its due date, the tenant's send hour or its time zone changed. Reminders are matched by their key
 * (kind and day), so a kept reminder keeps its row and a moved one never collides with its own key.
 */
export const diffReminderPlans = (
  old: readonly PlannedReminder[],
  next: readonly PlannedReminder[],
): ReminderPlanDiff => {
  const oldByIdentity = new Map(old.map((reminder) => [identityOf(reminder), reminder]));
  const nextIdentities = new Set(next.map(identityOf));
  return {
    cancel: old.filter((reminder) => !nextIdentities.has(identityOf(reminder))),
    create: next.filter((reminder) => !oldByIdentity.has(identityOf(reminder))),
    reschedule: next.filter((reminder) => {
      const previous = oldByIdentity.get(identityOf(reminder));
      return previous !== undefined && previous.scheduledAt.getTime() !== reminder.scheduledAt.getTime();
    }),
  };
};
