import type { ClaimedReminder, SendDueReminder } from '@prestabot/application';
import {
  expectOk,
  fixtureUuid,
  InMemoryDatabase,
  ManualClock,
  RecordingLogger,
  RecordingMetrics,
  seedLoan,
} from '@prestabot/application/testing';
import { defined, errAsync, okAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { RecordingLeases } from './recording-leases.fixture.ts';
import {
  defaultReminderWorkerOptions,
  ReminderWorker,
  type ReminderWorkerDependencies,
} from './reminder-worker.ts';

const leaseMs = 60_000;

const setup = async (
  sendDueReminder: Pick<SendDueReminder, 'execute'>,
  leases?: ReminderWorkerDependencies['leases'],
) => {
  const database = new InMemoryDatabase();
  const clock = new ManualClock(new Date(Date.UTC(2026, 2, 14, 12)));
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const { tenant, agreement } = await seedLoan(database.harness(), { status: 'active' });
  const id = fixtureUuid();
  await expectOk(
    database.unitOfWork.run(tenant.id, (r) =>
      r.reminders.replacePlan(agreement.id, [
        {
          id,
          agreementId: agreement.id,
          kind: 'day_before',
          localDate: { year: 2026, month: 3, day: 14 },
          scheduledAt: clock.now(),
          recipientId: agreement.borrowerId,
        },
      ]),
    ),
  );
  const worker = new ReminderWorker(
    {
      reminderQueue: database.reminderQueue,
      sendDueReminder,
      unitOfWork: database.unitOfWork,
      clock,
      logger,
      metrics,
      onQueued: () => {},
      ...defined({ leases }),
    },
    { ...defaultReminderWorkerOptions, owner: 'test-worker', leaseMs, maxAttempts: 3 },
  );
  const stored = async () =>
    (await expectOk(database.unitOfWork.run(tenant.id, (r) => r.reminders.listFor(agreement.id)))).find(
      (row) => row.id === id,
    );
  return { database, clock, logger, metrics, worker, stored };
};

describe('ReminderWorker', () => {
  it('has the lease of each claimed reminder kept until it is handled', async () => {
    const leases = new RecordingLeases();
    const { held } = leases;
    const heldWhileHandled: string[][] = [];
    const recording = {
      execute: (reminder: ClaimedReminder) => {
        heldWhileHandled.push([...held]);
        expect(reminder.lease.owner).toBe('test-worker');
        return okAsync('queued' as const);
      },
    };
    const { worker } = await setup(recording, leases);
    expect(await worker.runOnce()).toBe(1);
    expect(heldWhileHandled).toHaveLength(1);
    expect(heldWhileHandled[0]).toHaveLength(1);
    expect(heldWhileHandled[0]![0]).toMatch(/^reminders:/);
    expect([...held]).toEqual([]);
  });

  it('gives up a reminder that fails at every attempt after the last, logged and counted', async () => {
    let calls = 0;
    const failing = {
      execute: (_reminder: ClaimedReminder) => {
        calls += 1;
        return errAsync({ type: 'storage_error', reason: 'unexpected', message: 'broken row' } as const);
      },
    };
    const { clock, logger, metrics, worker, stored } = await setup(failing);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      expect(await worker.runOnce()).toBe(1);
      if (attempt < 3) expect(await stored()).toMatchObject({ status: 'pending' });
      clock.advance(leaseMs);
    }
    expect(calls).toBe(3);
    expect(await stored()).toMatchObject({ status: 'skipped', reason: expect.stringContaining('abandoned') });
    expect(metrics.count('reminders_abandoned_total')).toBe(1);
    expect(logger.at('error').some((line) => line.message.includes('abandoned after 3 attempts'))).toBe(true);
    expect(await worker.runOnce()).toBe(0);
  });

  it('gives up, without trying again, a reminder whose attempts all ended with their worker (crash or hang)', async () => {
    let calls = 0;
    const counting = {
      execute: (_reminder: ClaimedReminder) => {
        calls += 1;
        return errAsync({ type: 'storage_error', reason: 'unexpected', message: 'unreachable' } as const);
      },
    };
    const { database, clock, metrics, worker, stored } = await setup(counting);
    for (let crashed = 1; crashed <= 3; crashed += 1) {
      await expectOk(
        database.reminderQueue.claimDue({
          owner: `crashed-${crashed}`,
          now: clock.now(),
          limit: 10,
          leaseMs,
        }),
      );
      clock.advance(leaseMs);
    }
    await worker.runOnce();
    expect(calls).toBe(0);
    expect(await stored()).toMatchObject({ status: 'skipped', reason: expect.stringContaining('abandoned') });
    expect(metrics.count('reminders_abandoned_total')).toBe(1);
  });
});
