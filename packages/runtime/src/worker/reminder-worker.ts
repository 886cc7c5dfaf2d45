import type { Clock, Logger, ReminderQueue, SendDueReminder } from '@prestabot/application';
import { PollingLoop } from './polling-loop.ts';

export type ReminderWorkerOptions = {
  readonly owner: string;
  readonly batchSize: number;
  readonly leaseMs: number;
  /** Reminders fall due on the hour; looking every few seconds keeps them punctual. */
  readonly pollMs: number;
};

export const defaultReminderWorkerOptions: Omit<ReminderWorkerOptions, 'owner'> = {
  batchSize: 100,
  leaseMs: 60_000,
  pollMs: 5000,
};

export type ReminderWorkerDependencies = {
  readonly reminderQueue: ReminderQueue;
  readonly sendDueReminder: SendDueReminder;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called when reminders were queued as messages, so the sender starts at once. */
  readonly onQueued: () => void;
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
    const { reminderQueue, sendDueReminder, clock, logger, onQueued } = this.#deps;
    const { owner, batchSize, leaseMs } = this.#options;
    const claimed = await reminderQueue.claimDue({ owner, now: clock.now(), limit: batchSize, leaseMs });
    if (claimed.isErr()) {
      logger.error({ error: claimed.error.reason }, `cannot claim due reminders: ${claimed.error.message}`);
      return 0;
    }
    let queued = 0;
    for (const reminder of claimed.value) {
      const fields = {
        tenantId: reminder.tenantId,
        reminderId: reminder.id,
        agreementId: reminder.agreementId,
        kind: reminder.kind,
      };
      try {
        const outcome = await sendDueReminder.execute(reminder);
        if (outcome.isErr())
          logger.error(
            { ...fields, error: outcome.error.reason },
            'reminder not handled; it is retried when its lease runs out',
          );
        else if (outcome.value === 'queued') queued += 1;
      } catch (bug) {
        logger.error(
          { ...fields, error: bug instanceof Error ? bug.stack : String(bug) },
          'bug while handling a reminder; it is retried when its lease runs out',
        );
      }
    }
    if (queued > 0) onQueued();
    return claimed.value.length;
  }
}
