import type { Agreement, AgreementId, ContactId, ReminderKind, ResultAsync } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageError } from '../../errors.ts';
import type { NewReminder } from '../../loans/loan-stores.port.ts';
import type { TenantRepositories } from '../../ports/unit-of-work.port.ts';
import {
  expectErr,
  expectOk,
  fixturePhone,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedContact,
  seedTenant,
  textOutboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** A tenant with a lender and a borrower, and a loan between them. */
export const seedLoan = async (harness: StorageHarness, overrides: Partial<Agreement> = {}) => {
  const { tenant, number } = await seedTenant(harness);
  const lender = await seedContact(harness, tenant.id, fixturePhone());
  const borrower = await seedContact(harness, tenant.id, fixturePhone());
  const agreement: Agreement = {
    id: fixtureUuid() as AgreementId,
    tenantId: tenant.id,
    phoneNumberId: number.phoneNumberId,
    lenderId: lender.id,
    borrowerId: borrower.id,
    subject: { kind: 'money', amount: { minor: 5000, currency: 'CLP' } },
    dueDate: { year: 2026, month: 3, day: 15 },
    status: 'pending_confirmation',
    createdAt: t0,
    ...overrides,
  };
  await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.create(agreement)));
  return { tenant, number, lender, borrower, agreement };
};

const reminder = (
  agreement: Agreement,
  kind: ReminderKind,
  day: number,
  recipient: ContactId = agreement.borrowerId,
): NewReminder => ({
  id: fixtureUuid(),
  agreementId: agreement.id,
  kind,
  localDate: { year: 2026, month: 3, day },
  scheduledAt: new Date(Date.UTC(2026, 2, day, 12)),
  recipientId: recipient,
});

export const describeLoanStoresContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: AgreementStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('stores a loan of money or of an object and reads it back whole', async () => {
      const { tenant, agreement } = await seedLoan(harness);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.get(agreement.id))),
      ).toEqual(agreement);
      const object = {
        ...agreement,
        id: fixtureUuid() as AgreementId,
        subject: { kind: 'object' as const, description: 'taladro 🔧' },
      };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.create(object)));
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.get(object.id)))).toEqual(
        object,
      );
    });

    it('updates only from the status it was read in', async () => {
      const { tenant, agreement } = await seedLoan(harness);
      const active = { ...agreement, status: 'active' as const, confirmedAt: at(1000) };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.agreements.update(active, 'pending_confirmation')),
        ),
      ).toBe(true);
      const rejected = { ...agreement, status: 'rejected' as const, closedAt: at(2000) };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.agreements.update(rejected, 'pending_confirmation')),
        ),
      ).toBe(false);
      const claimed = { ...active, returnClaimedAt: at(3000), lastRemindedAt: at(3500) };
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.update(claimed, 'active'))),
      ).toBe(true);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.get(agreement.id))),
      ).toEqual(claimed);
    });

    it('lists what a contact lent and borrowed, open ones first by due date, and what waits for their confirmation', async () => {
      const { tenant, number, lender, borrower, agreement } = await seedLoan(harness, {
        dueDate: { year: 2026, month: 4, day: 1 },
      });
      const sooner = {
        ...agreement,
        id: fixtureUuid() as AgreementId,
        dueDate: { year: 2026, month: 3, day: 20 },
        createdAt: at(1),
        status: 'active' as const,
      };
      const closed = {
        ...agreement,
        id: fixtureUuid() as AgreementId,
        status: 'returned' as const,
        closedAt: at(5),
        createdAt: at(2),
      };
      const reversed = {
        ...agreement,
        id: fixtureUuid() as AgreementId,
        lenderId: borrower.id,
        borrowerId: lender.id,
        phoneNumberId: number.phoneNumberId,
        createdAt: at(3),
      };
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.agreements
            .create(sooner)
            .andThen(() => r.agreements.create(closed))
            .andThen(() => r.agreements.create(reversed)),
        ),
      );
      const mine = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.agreements.listFor(lender.id, 10)),
      );
      expect(mine.map((loan) => loan.id)).toEqual([sooner.id, agreement.id, reversed.id, closed.id]);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.agreements.listFor(lender.id, 2))),
      ).toHaveLength(2);
      const pending = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.agreements.pendingFor(borrower.id)),
      );
      expect(pending.map((loan) => loan.id)).toEqual([agreement.id]);
    });

    it('holds a request for the person it asks, hands it over once, oldest first, and forgets it when the loan changes', async () => {
      const { tenant, lender, borrower, agreement } = await seedLoan(harness);
      const claimed = {
        ...agreement,
        id: fixtureUuid() as AgreementId,
        lenderId: borrower.id,
        borrowerId: lender.id,
        status: 'active' as const,
        confirmedAt: at(1),
        returnClaimedAt: at(2),
      };
      const answered = { ...agreement, id: fixtureUuid() as AgreementId };
      const run = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
        expectOk(harness.unitOfWork.run(tenant.id, work));
      await run((r) => r.agreements.create(claimed).andThen(() => r.agreements.create(answered)));
      await run((r) => r.agreements.holdRequest(answered.id, at(10)));
      await run((r) => r.agreements.holdRequest(claimed.id, at(20)));
      await run((r) => r.agreements.holdRequest(agreement.id, at(30)));
      await run((r) => r.agreements.holdRequest(agreement.id, at(5)));
      await run((r) =>
        r.agreements.update({ ...answered, status: 'active', confirmedAt: at(40) }, 'pending_confirmation'),
      );
      // The lender of a pending loan is asked nothing; the borrower is.
      expect(await run((r) => r.agreements.takeHeldRequests(lender.id))).toEqual([]);
      expect(await run((r) => r.agreements.takeHeldRequests(borrower.id))).toEqual([claimed, agreement]);
      expect(await run((r) => r.agreements.takeHeldRequests(borrower.id))).toEqual([]);
      await run((r) => r.agreements.holdRequest(agreement.id, at(50)));
      await run((r) =>
        r.agreements.update({ ...agreement, status: 'cancelled', closedAt: at(60) }, 'pending_confirmation'),
      );
      expect(await run((r) => r.agreements.takeHeldRequests(borrower.id))).toEqual([]);
    });

    it("refuses a loan between another tenant's contacts, and never shows another tenant's loans", async () => {
      const a = await seedLoan(harness);
      const b = await seedLoan(harness);
      const intoB = { ...a.agreement, id: fixtureUuid() as AgreementId, lenderId: b.lender.id };
      expect(
        await expectErr(harness.unitOfWork.run(a.tenant.id, (r) => r.agreements.create(intoB))),
      ).toMatchObject({ type: 'storage_error', reason: 'constraint' });
      expect(
        await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.agreements.get(b.agreement.id))),
      ).toBeUndefined();
      expect(
        await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.agreements.listFor(b.lender.id, 10))),
      ).toEqual([]);
      expect(
        await expectOk(
          harness.unitOfWork.run(a.tenant.id, (r) =>
            r.agreements.update({ ...b.agreement, status: 'cancelled' }, 'pending_confirmation'),
          ),
        ),
      ).toBe(false);
      await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) => r.agreements.holdRequest(b.agreement.id, t0)),
      );
      expect(
        await expectOk(
          harness.unitOfWork.run(b.tenant.id, (r) => r.agreements.takeHeldRequests(b.agreement.borrowerId)),
        ),
      ).toEqual([]);
    });
  });

  describe(`${implementation}: ConversationStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('saves a conversation only over the version it read, and clears it', async () => {
      const { tenant } = await seedTenant(harness);
      const contact = await seedContact(harness, tenant.id);
      const state = {
        flow: 'new_loan',
        step: 'kind',
        draft: { id: 'd1', borrower: { name: 'Ana', phone: '+56911112222' } },
      };
      const run = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
        expectOk(harness.unitOfWork.run(tenant.id, work));
      expect(await run((r) => r.conversations.get(contact.id))).toBeUndefined();
      expect(await run((r) => r.conversations.save(contact.id, state, 0, at(1800_000)))).toBe(true);
      expect(await run((r) => r.conversations.get(contact.id))).toEqual({
        state,
        version: 1,
        expiresAt: at(1800_000),
      });
      expect(await run((r) => r.conversations.save(contact.id, { ...state, step: 'amount' }, 0, at(1)))).toBe(
        false,
      );
      expect(await run((r) => r.conversations.save(contact.id, { ...state, step: 'amount' }, 1, at(2)))).toBe(
        true,
      );
      await run((r) => r.conversations.clear(contact.id));
      expect(await run((r) => r.conversations.get(contact.id))).toBeUndefined();
      expect(await run((r) => r.conversations.save(contact.id, state, 0, at(3)))).toBe(true);
    });
  });

  describe(`${implementation}: ReminderStore and ReminderQueue`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('keeps one reminder per (loan, kind, day) however often the plan is written, and cancels what left the plan', async () => {
      const { tenant, agreement } = await seedLoan(harness, { status: 'active' });
      const plan = [
        reminder(agreement, 'day_before', 14),
        reminder(agreement, 'due_day', 15),
        reminder(agreement, 'lender_overdue_notice', 16, agreement.lenderId),
      ];
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, plan))),
      ).toEqual({ added: 3, cancelled: 0 });
      const again = plan.map((planned) => ({ ...planned, id: fixtureUuid() }));
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, again)),
        ),
      ).toEqual({ added: 0, cancelled: 0 });
      const moved = [reminder(agreement, 'day_before', 19), reminder(agreement, 'due_day', 20)];
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, moved)),
        ),
      ).toEqual({ added: 2, cancelled: 3 });
      const stored = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.reminders.listFor(agreement.id)),
      );
      expect(
        stored
          .filter((row) => row.status === 'pending')
          .map((row) => row.localDate.day)
          .sort(),
      ).toEqual([19, 20]);
      expect(stored.filter((row) => row.status === 'cancelled')).toHaveLength(3);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.reminders.cancelPending(agreement.id, 'loan returned')),
        ),
      ).toBe(2);
    });

    it('hands a due reminder to one worker, which marks it queued or skipped under its lease', async () => {
      const { tenant, agreement } = await seedLoan(harness, { status: 'active' });
      const [first, second] = [reminder(agreement, 'day_before', 14), reminder(agreement, 'due_day', 15)];
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, [first!, second!])),
      );
      const claim = (owner: string, now: Date) =>
        expectOk(harness.reminderQueue.claimDue({ owner, now, limit: 100, leaseMs: 30_000 }));
      const mine = (claimed: Awaited<ReturnType<typeof claim>>) =>
        claimed.filter((row) => row.agreementId === agreement.id);
      expect(mine(await claim('a', new Date(Date.UTC(2026, 2, 14, 11, 59))))).toEqual([]);
      const [claimed] = mine(await claim('a', new Date(Date.UTC(2026, 2, 14, 12))));
      expect(claimed).toMatchObject({
        id: first!.id,
        tenantId: tenant.id,
        kind: 'day_before',
        status: 'pending',
      });
      expect(mine(await claim('b', new Date(Date.UTC(2026, 2, 14, 12, 0, 1))))).toEqual([]);
      const outbox = textOutboxEntry(agreement.phoneNumberId, { contactId: agreement.borrowerId });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([outbox])));
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.reminders.markQueued(first!.id, { owner: 'b', until: at(1) }, outbox.id),
          ),
        ),
      ).toBe(false);
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.reminders.markQueued(first!.id, claimed!.lease, outbox.id),
          ),
        ),
      ).toBe(true);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.reminders
            .recordDelivery(first!.id, 'read')
            .andThen(() => r.reminders.recordDelivery(first!.id, 'delivered')),
        ),
      );
      const [skipped] = mine(await claim('b', new Date(Date.UTC(2026, 2, 15, 12))));
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.reminders.markSkipped(skipped!.id, skipped!.lease, 'opted_out'),
          ),
        ),
      ).toBe(true);
      const stored = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.reminders.listFor(agreement.id)),
      );
      expect(stored.find((row) => row.id === first!.id)).toMatchObject({
        status: 'queued',
        outboxId: outbox.id,
        delivery: 'read',
      });
      expect(stored.find((row) => row.id === second!.id)).toMatchObject({
        status: 'skipped',
        reason: 'opted_out',
      });
      expect(mine(await claim('c', new Date(Date.UTC(2026, 2, 20))))).toEqual([]);
    });

    it('counts every claim of a reminder as an attempt, so one that keeps failing can be given up', async () => {
      const { tenant, agreement } = await seedLoan(harness, { status: 'active' });
      const due = reminder(agreement, 'day_before', 14);
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, [due])));
      const claimAt = async (owner: string, minute: number) =>
        (
          await expectOk(
            harness.reminderQueue.claimDue({
              owner,
              now: new Date(Date.UTC(2026, 2, 14, 12, minute)),
              limit: 100,
              leaseMs: 30_000,
            }),
          )
        ).filter((row) => row.id === due.id);
      expect(await claimAt('a', 0)).toMatchObject([{ attempts: 1 }]);
      // Its lease ran out (its worker crashed or hung): the next claim is its second attempt.
      expect(await claimAt('b', 1)).toMatchObject([{ attempts: 2 }]);
      expect(await claimAt('c', 1)).toEqual([]);
    });
  });
};
