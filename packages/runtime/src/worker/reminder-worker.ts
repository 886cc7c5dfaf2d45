import type {
  ClaimedReminder,
  Clock,
  Logger,
  Metrics,
  ReminderQueue,
  SendDueReminder,
  TenantUnitOfWork,
} from '@prestabot/application';
import { type LeaseKeeper, workLeaseMs } from './lease-keeper.ts';
import { PollingLoop } from './polling-loop.ts';

export type ReminderWorkerOptions = {
  readonly owner: string;
  readonly batchSize: number;
  readonly leaseMs: number;
  /** Reminders fall due on the hour; looking every few seconds keeps them punctual. */
  readonly pollMs: number;
  /**
   * After this many attempts a reminder is given up (skipped, with the reason): one that fails, crashes
   * or hangs its worker every time is otherwise claimed forever.
   */
  readonly maxAttempts: number;
};

export const defaultReminderWorkerOptions: Omit<ReminderWorkerOptions, 'owner'> = {
  batchSize: 100,
  leaseMs: workLeaseMs,
  pollMs: 5000,
  maxAttempts: 5,
};

export type ReminderWorkerDependencies = {
  readonly reminderQueue: ReminderQueue;
  readonly sendDueReminder: Pick<SendDueReminder, 'execute'>;
  readonly unitOfWork: TenantUnitOfWork;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called when reminders were queued as messages, so the sender starts at once. */
  readonly onQueued: () => void;
  /** Renews the leases of the work in hand; without one, leases run their first length (tests). */
  readonly leases?: Pick<LeaseKeeper, 'hold' | 'release'>;
};

/**
 * Queues the messages of reminders that fell due, in any tenant. Each reminder is claimed by one worker
 * (`SKIP LOCKED`) and marked in the transaction that queues its message, so several workers never send
 * it twice; one that crashes mid-way leaves it to the next claim once its lease runs out.
 */
export class ReminderWorker {
  readonly #deps: ReminderWorkerDependencies;
  readonly #options: ReminderWorkerOptions;
  readonly #loop: PollingLoop;

  constructor(dependencies: ReminderWorkerDependencies, options: ReminderWorkerOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#loop = new PollingLoop(() => this.runOnce(), options.pollMs);
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Claims and queues what is due now; how many reminders it handled. */
  async runOnce(): Promise<number> {
    const { reminderQueue, clock, logger, onQueued } = this.#deps;
    const { owner, batchSize, leaseMs } = this.#options;
    const claimed = await reminderQueue.claimDue({ owner, now: clock.now(), limit: batchSize, leaseMs });
    if (claimed.isErr()) {
      logger.error({ error: claimed.error.reason }, `cannot claim due reminders: ${claimed.error.message}`);
      return 0;
    }
    // The batch is handled one by one: the leases of those still waiting are kept meanwhile.
    this.#deps.leases?.hold(
      'reminders',
      claimed.value.map((reminder) => reminder.id),
    );
    let queued = 0;
    for (const reminder of claimed.value) {
      try {
        if ((await this.#handle(reminder)) === 'queued') queued += 1;
      } finally {
        this.#deps.leases?.release('reminders', [reminder.id]);
      }
    }
    if (queued > 0) onQueued();
    return claimed.value.length;
  }

  async #handle(reminder: ClaimedReminder): Promise<'queued' | 'not_queued'> {
    // Claimed once more than allowed: every attempt ended with its worker, which never said why.
    if (reminder.attempts > this.#options.maxAttempts) {
      await this.#abandon(reminder, 'its worker stopped during every attempt (crash or hang)');
      return 'not_queued';
    }
    let failure: string | undefined;
    try {
      const outcome = await this.#deps.sendDueReminder.execute(reminder);
      if (outcome.isOk()) return outcome.value === 'queued' ? 'queued' : 'not_queued';
      failure = outcome.error.message;
    } catch (bug) {
      failure = bug instanceof Error ? (bug.stack ?? bug.message) : String(bug);
    }
    if (reminder.attempts >= this.#options.maxAttempts) await this.#abandon(reminder, failure);
    else
      this.#deps.logger.error(
        { ...fieldsOf(reminder), error: failure },
        'reminder not handled; it is retried when its lease runs out',
      );
    return 'not_queued';
  }

  /** Skips the reminder for good, with why, under its lease; if that fails, the next claim tries again. */
  async #abandon(reminder: ClaimedReminder, failure: string): Promise<void> {
    const { unitOfWork, logger, metrics } = this.#deps;
    const fields = fieldsOf(reminder);
    const reason = `abandoned after ${reminder.attempts} attempts: ${failure}`;
    const skipped = await unitOfWork.run(reminder.tenantId, (repositories) =>
      repositories.reminders.markSkipped(reminder.id, reminder.lease, reason),
    );
    if (skipped.isErr() || !skipped.value) {
      logger.error(
        { ...fields, error: skipped.isErr() ? skipped.error.message : 'lease lost' },
        'could not give up a failing reminder; the next claim tries again',
      );
      return;
    }
    metrics.increment('reminders_abandoned_total');
    logger.error({ ...fields, error: failure }, `reminder abandoned after ${reminder.attempts} attempts`);
  }
}

const fieldsOf = (reminder: ClaimedReminder) => ({
  tenantId: reminder.tenantId,
  reminderId: reminder.id,
  agreementId: reminder.agreementId,
  kind: reminder.kind,
  attempts: reminder.attempts,
});
