import { portTokens, type SyncNumbers } from '@prestabot/application';
import { defined } from '@prestabot/domain';
import type { Container } from 'inversify';
import {
  createWebHandler,
  createWebhookEndpoint,
  type HealthReport,
  type WebHandler,
  type WebhookEndpoint,
} from './http/web-handler.ts';
import { resolve, runtimeTokens } from './wiring.ts';
import { defaultInboxWorkerOptions, InboxWorker } from './worker/inbox-worker.ts';
import { LeaseKeeper, maxLeaseHoldMs, workLeaseMs } from './worker/lease-keeper.ts';
import { NumberSyncWorker } from './worker/number-sync-worker.ts';
import { defaultOutboxDispatcherOptions, OutboxDispatcher } from './worker/outbox-dispatcher.ts';
import { defaultReminderWorkerOptions, ReminderWorker } from './worker/reminder-worker.ts';
import { defaultRetentionWorkerOptions, RetentionWorker } from './worker/retention-worker.ts';

export type BotOptions = {
  /** This process's name in leases: host, pid and a random part. */
  readonly owner: string;
  /**
   * Keeps work going after the response: on Node it simply runs on; at the edge the runtime's
   * `waitUntil` keeps the function alive for it.
   */
  readonly runAfterResponse: (work: Promise<unknown>) => void;
  readonly checkHealth: () => Promise<HealthReport>;
  readonly flows?: (request: Request) => Promise<Response>;
  /** Re-reads Meta's view of each number daily in the worker; absent where no Graph client is wired. */
  readonly numberSync?: Pick<SyncNumbers, 'syncDue'>;
  /**
   * Replies get their send slots in the transaction that queues them, leased to this process (default
   * on). Off at the edge: an isolate may be suspended once it has answered, and replies leased to it would
   * wait out their lease instead of being claimed by the Node worker.
   */
  readonly slotsWhileProcessing?: boolean;
  /**
   * A webhook's messages are answered in the transaction that stores them, before its 200, when their
   * tenant has nothing else in hand here (default on): one transaction where there were two. Off at the
   * edge, where a webhook costs one round trip before its 200.
   */
  readonly processWhileStoring?: boolean;
};

/** The running parts of one deployment process, wired from a container both hosts fill the same way. */
export type Bot = {
  readonly handler: WebHandler;
  /** `POST /webhook` on its own, for a host that reads the body itself (see `WebhookEndpoint`). */
  readonly webhook: WebhookEndpoint;
  readonly inboxWorker: InboxWorker;
  readonly outboxDispatcher: OutboxDispatcher;
  readonly reminderWorker: ReminderWorker;
  /**
   * The background loops: inbox leftovers, due reminders, the outbox at each number's rate, and pruning
   * finished queue rows.
   */
  readonly startWorkers: () => void;
  /** Stops claiming and waits for the work in hand, so nothing is left half-done. */
  readonly stopWorkers: () => Promise<void>;
};

export const assembleBot = (container: Container, options: BotOptions): Bot => {
  const get = <T>(token: Parameters<typeof resolve<T>>[1]) => resolve<T>(container, token);
  const clock = get(portTokens.clock);
  const logger = get(portTokens.logger);
  const metrics = get(portTokens.metrics);
  const unitOfWork = get(portTokens.unitOfWork);
  const config = get(runtimeTokens.config);
  const useCases = get(runtimeTokens.useCases);
  const leases = new LeaseKeeper(
    { leaseRenewal: get(portTokens.leaseRenewal), clock, logger },
    { owner: options.owner, leaseMs: workLeaseMs, maxHoldMs: maxLeaseHoldMs },
  );
  const outboxDispatcher = new OutboxDispatcher(
    {
      queue: get(portTokens.outboxQueue),
      sender: useCases.sendQueuedMessage,
      clock,
      logger,
      metrics,
      leases,
    },
    { ...defaultOutboxDispatcherOptions, owner: options.owner },
  );
  const inboxWorker = new InboxWorker(
    {
      inboxQueue: get(portTokens.inboxQueue),
      processInbox: useCases.processInbox,
      unitOfWork,
      clock,
      logger,
      metrics,
      onRepliesQueued: (ids, leased) => outboxDispatcher.take(ids, leased),
      leases,
      ...defined({
        sendSlotTerms:
          options.slotsWhileProcessing === false ? undefined : () => outboxDispatcher.sendSlotTerms(),
      }),
    },
    { ...defaultInboxWorkerOptions, owner: options.owner },
  );
  if (options.processWhileStoring !== false) get(runtimeTokens.storingProcessor).current = inboxWorker;
  const reminderWorker = new ReminderWorker(
    {
      reminderQueue: get(portTokens.reminderQueue),
      sendDueReminder: useCases.sendDueReminder,
      unitOfWork,
      clock,
      logger,
      metrics,
      onQueued: () => outboxDispatcher.notify(),
      leases,
    },
    { ...defaultReminderWorkerOptions, owner: options.owner },
  );
  const retentionWorker = new RetentionWorker(
    { retention: get(portTokens.finishedWorkRetention), clock, logger },
    { ...defaultRetentionWorkerOptions, retentionDays: config.retentionDays },
  );
  const numberSyncWorker =
    options.numberSync === undefined
      ? undefined
      : new NumberSyncWorker({ numbers: options.numberSync, logger });
  const webhook = createWebhookEndpoint({
    ingestWebhook: useCases.ingestWebhook,
    logger,
    metrics,
    afterIngest: (output) => options.runAfterResponse(inboxWorker.submit(output.held)),
  });
  const handler = createWebHandler({
    webhook,
    verifyToken: config.verifyToken,
    logger,
    metrics,
    checkHealth: options.checkHealth,
    ...defined({ flows: options.flows }),
  });
  return {
    handler,
    webhook,
    inboxWorker,
    outboxDispatcher,
    reminderWorker,
    startWorkers: () => {
      inboxWorker.start();
      reminderWorker.start();
      outboxDispatcher.start();
      retentionWorker.start();
      numberSyncWorker?.start();
    },
    stopWorkers: async () => {
      await Promise.all([
        inboxWorker.stop(),
        reminderWorker.stop(),
        retentionWorker.stop(),
        numberSyncWorker?.stop(),
      ]);
      await outboxDispatcher.stop();
    },
  };
};
