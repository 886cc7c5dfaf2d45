import {
  daysBetween,
  err,
  localDateOf,
  ok,
  type ReminderKind,
  type ResultAsync,
  safeTry,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import { catalogFor } from '../texts/catalog.ts';
import { actionButtons } from './loan-actions.ts';
import { loadParties, templateValuesOf } from './loan-facts.ts';
import type { ClaimedReminder } from './loan-stores.port.ts';
import type { Notifier } from './notifier.ts';

export type ReminderOutcome = 'queued' | 'skipped' | 'lease_lost';

type LeaseLost = { readonly type: 'lease_lost_rollback' };
const leaseLost: LeaseLost = { type: 'lease_lost_rollback' };

/**
 * Reminders go after replies and notices in their number's queue (`noticePriority`, answers to something
 * a person just did), and among themselves in the order the messaging limit releases them when it holds
 * some back: the due day's first, then overdue notices, then the day before's.
 */
export const reminderPriorityOf = (kind: ReminderKind): number =>
  kind === 'due_day' ? 3 : kind === 'day_before' ? 1 : 2;

export type SendDueReminderDependencies = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
};

/**
 * Turns one due reminder into a message in the outbox, or records why it was not sent (the loan is no
 * longer active, the borrower says it was returned, the recipient opted out, no template outside the
 * 24-hour window). The reminder is marked in the same transaction that queues its message, and only
 * under the claim's lease, so it is sent once even with several workers.
 */
export class SendDueReminder {
  readonly #deps: SendDueReminderDependencies;

  constructor(dependencies: SendDueReminderDependencies) {
    this.#deps = dependencies;
  }

  execute(reminder: ClaimedReminder): ResultAsync<ReminderOutcome, StorageError> {
    return this.#deps.unitOfWork
      .run(reminder.tenantId, (repositories) => this.#send(reminder, repositories))
      .orElse((error) => (error.type === 'lease_lost_rollback' ? ok('lease_lost' as const) : err(error)));
  }

  /** Under a lost lease nothing this attempt wrote may stay: another worker owns the reminder now. */
  #send(
    reminder: ClaimedReminder,
    repositories: TenantRepositories,
  ): ResultAsync<'queued' | 'skipped', StorageError | LeaseLost> {
    const { notifier, clock, logger, metrics } = this.#deps;
    const now = clock.now();
    const fields = {
      tenantId: reminder.tenantId,
      reminderId: reminder.id,
      agreementId: reminder.agreementId,
      kind: reminder.kind,
    };
    const skip = (reason: string) => {
      logger.info({ ...fields, reason }, `reminder not sent: ${reason}`);
      return repositories.reminders
        .markSkipped(reminder.id, reminder.lease, reason)
        .andThen((owned) => (owned ? ok('skipped' as const) : err(leaseLost)));
    };
    return safeTry(async function* () {
      const tenant = yield* repositories.tenant.current();
      const agreement = yield* repositories.agreements.get(reminder.agreementId);
      if (tenant === undefined || agreement === undefined) return ok(yield* skip('loan_missing'));
      if (agreement.status !== 'active') return ok(yield* skip(`loan_${agreement.status}`));
      const toLender = reminder.recipientId === agreement.lenderId;
      if (!toLender && agreement.returnClaimedAt !== undefined) return ok(yield* skip('return_claimed'));
      const parties = yield* loadParties(agreement, tenant, repositories);
      if (parties === undefined) return ok(yield* skip('contact_missing'));
      const texts = catalogFor(tenant.locale);
      const days = daysBetween(agreement.dueDate, localDateOf(now, tenant.timezone));
      const body =
        reminder.kind === 'day_before'
          ? texts.reminders.dayBefore(parties.facts)
          : reminder.kind === 'due_day'
            ? texts.reminders.dueDay(parties.facts)
            : reminder.kind === 'lender_overdue_notice'
              ? texts.reminders.lenderOverdueNotice(parties.facts)
              : texts.reminders.overdue({ ...parties.facts, days: Math.max(1, days) });
      const outcome = yield* notifier.send(
        {
          to: toLender ? parties.lender : parties.borrower,
          phoneNumberId: agreement.phoneNumberId,
          message: actionButtons(
            texts,
            agreement.id,
            toLender ? ['mark_returned', 'remind'] : ['claim_returned'],
            body,
          ),
          template: {
            purpose: toLender ? 'loan_overdue_notice' : 'loan_reminder',
            values: templateValuesOf(parties.facts, body, Math.max(0, days)),
            agreementId: agreement.id,
          },
          idempotencyKey: `reminder:${reminder.id}`,
          origin: { kind: 'reminder', reminderId: reminder.id },
          priority: reminderPriorityOf(reminder.kind),
        },
        tenant,
        repositories,
      );
      metrics.observe(
        'reminder_lag_seconds',
        Math.max(0, now.getTime() - reminder.scheduledAt.getTime()) / 1000,
      );
      if (outcome.kind === 'skipped') return ok(yield* skip(outcome.reason));
      if (outcome.kind === 'already_queued') return ok(yield* skip('already_queued'));
      const owned = yield* repositories.reminders.markQueued(reminder.id, reminder.lease, outcome.outboxId);
      return owned ? ok('queued' as const) : err(leaseLost);
    });
  }
}
