import {
  type AgreementId,
  advanceStatus,
  errAsync,
  formatIsoDate,
  type LocalDate,
  okAsync,
  type TenantId,
} from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import type { Reminder, ReminderStore } from '../../loans/loan-stores.port.ts';
import type { Lease } from '../../ports/inbox.port.ts';
import { ownAgreement } from './agreement-store.ts';
import { holdsLease, type State } from './state.ts';

const reminderKeyOf = (reminder: {
  readonly agreementId: AgreementId;
  readonly kind: string;
  readonly localDate: LocalDate;
}) => `${reminder.agreementId}|${reminder.kind}|${formatIsoDate(reminder.localDate)}`;

export const reminderStore = (tenantId: TenantId, state: State): ReminderStore => {
  const own = (agreementId: AgreementId) =>
    [...state.reminders.values()].filter(
      (row) => row.tenantId === tenantId && row.reminder.agreementId === agreementId,
    );
  const leased = (id: string, lease: Lease) => {
    const row = state.reminders.get(id);
    return row !== undefined &&
      row.tenantId === tenantId &&
      row.reminder.status === 'pending' &&
      holdsLease(row, lease)
      ? row
      : undefined;
  };
  const settle = (id: string, lease: Lease, change: Partial<Reminder>) => {
    const row = leased(id, lease);
    if (row === undefined) return okAsync(false);
    row.reminder = { ...row.reminder, ...change };
    delete row.lease;
    return okAsync(true);
  };
  return {
    replacePlan: (agreementId, plan) => {
      if (ownAgreement(tenantId, state, agreementId) === undefined) {
        return errAsync(storageError('constraint', `agreement ${agreementId} is not this tenant's`));
      }
      const wanted = new Set(plan.map(reminderKeyOf));
      const existing = own(agreementId);
      let cancelled = 0;
      for (const row of existing) {
        if (row.reminder.status === 'pending' && !wanted.has(reminderKeyOf(row.reminder))) {
          row.reminder = { ...row.reminder, status: 'cancelled', reason: 'rescheduled' };
          cancelled += 1;
        }
      }
      const known = new Set(existing.map((row) => reminderKeyOf(row.reminder)));
      let added = 0;
      for (const reminder of plan) {
        if (known.has(reminderKeyOf(reminder))) continue;
        if (state.contacts.get(reminder.recipientId)?.tenantId !== tenantId) {
          return errAsync(storageError('constraint', 'a reminder goes to a contact of its tenant'));
        }
        state.reminders.set(reminder.id, { tenantId, reminder: { ...reminder, status: 'pending' } });
        added += 1;
      }
      return okAsync({ added, cancelled });
    },
    cancelPending: (agreementId, reason) => {
      let cancelled = 0;
      for (const row of own(agreementId)) {
        if (row.reminder.status !== 'pending') continue;
        row.reminder = { ...row.reminder, status: 'cancelled', reason };
        cancelled += 1;
      }
      return okAsync(cancelled);
    },
    listFor: (agreementId) => okAsync(own(agreementId).map((row) => row.reminder)),
    markQueued: (id, lease, outboxId) => settle(id, lease, { status: 'queued', outboxId }),
    markSkipped: (id, lease, reason) => settle(id, lease, { status: 'skipped', reason }),
    recordDelivery: (id, status) => {
      const row = state.reminders.get(id);
      if (row?.tenantId === tenantId)
        row.reminder = {
          ...row.reminder,
          delivery: advanceStatus(row.reminder.delivery ?? 'accepted', status),
        };
      return okAsync(undefined);
    },
  };
};
