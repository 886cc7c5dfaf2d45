import type { InboundContent, PhoneNumberId, TenantId } from '@prestabot/domain';
import { type SendPolicy, SendQueuedMessage } from '../dispatch-outbox/send-queued-message.ts';
import { AnswerFlowExchange } from '../flows/flow-exchange.ts';
import type { FlowTokens } from '../flows/flow-tokens.port.ts';
import { ProfileFlowScreens, profileFlow } from '../flows/profile-flow.ts';
import { HandleInbound } from '../handle-inbound/handle-inbound.ts';
import type { InboundResponder } from '../handle-inbound/inbound-responder.port.ts';
import { MainMenuResponder } from '../handle-inbound/main-menu-responder.ts';
import { ApplyAccountEvents } from '../ingest-webhook/apply-account-events.ts';
import { IngestWebhook } from '../ingest-webhook/ingest-webhook.ts';
import { loanBotResponders } from '../loan-bot.ts';
import { DeliveryFollowUp } from '../loans/delivery-follow-up.ts';
import { LoanActions } from '../loans/loan-actions.ts';
import { Notifier } from '../loans/notifier.ts';
import { SendDueReminder } from '../loans/reminders.ts';
import { ManageTenants } from '../manage-tenants/manage-tenants.ts';
import { ReportUsage } from '../manage-tenants/report-usage.ts';
import type { WebhookParser, WebhookSignatureVerifier } from '../ports/webhook.port.ts';
import {
  type EntryOutcome,
  followUpsOf,
  ProcessInbox,
  type StatusListener,
} from '../process-inbox/process-inbox.ts';
import { NumberAccessTokens, SendReply } from '../send-reply/send-reply.ts';
import { expectOk } from './contracts/storage-harness.ts';
import { FakeSecretCipher } from './fake-secret-cipher.ts';
import { InMemoryDatabase } from './in-memory-database.ts';
import { ManualClock } from './manual-clock.ts';
import { RecordingGateway } from './recording-gateway.ts';
import { RecordingLogger } from './recording-logger.ts';
import { RecordingMetrics } from './recording-metrics.ts';
import { recordOneByOne } from './send-records.ts';
import { SequentialIds } from './sequential-ids.ts';
import { encodeBatch, inboundMessage, testSignature } from './webhook-doubles.ts';

export type InMemoryAppOptions = {
  /** The webhook boundary (the real one lives in adapters-meta). */
  readonly verifier: WebhookSignatureVerifier;
  readonly parser: WebhookParser;
  readonly deploymentAppSecret?: string;
  readonly fallbackAccessToken?: string;
  /** The bot's behaviour before the main menu; the whole loan bot when absent. */
  readonly responders?: readonly InboundResponder[];
  readonly statusListeners?: readonly StatusListener[];
  readonly sendPolicy?: SendPolicy;
  /** Flow tokens for the profile Flow, and the deployment's default profile Flow id. */
  readonly flowTokens?: FlowTokens;
  readonly defaultProfileFlowId?: string;
  /** `PRESTABOT_RETENTION_DAYS`: items older than this are not taken in; unset, every item is. */
  readonly retentionDays?: number;
};

/** Every use case wired to in-memory ports: the whole bot in one process, for tests. */
export const createInMemoryApp = (options: InMemoryAppOptions) => {
  const database = new InMemoryDatabase();
  const clock = new ManualClock();
  const ids = new SequentialIds();
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const cipher = new FakeSecretCipher();
  const gateway = new RecordingGateway();
  const { unitOfWork, directory, apps } = database;
  const sendReply = new SendReply({
    tokens: new NumberAccessTokens({
      unitOfWork,
      cipher,
      logger,
      metrics,
      ...(options.fallbackAccessToken === undefined
        ? {}
        : { fallbackAccessToken: options.fallbackAccessToken }),
    }),
    gateway,
  });
  const notifier = new Notifier({ ids, clock, logger, metrics });
  const loanActions = new LoanActions({ notifier, ids, clock });
  const responders =
    options.responders ??
    loanBotResponders({
      actions: loanActions,
      ids,
      clock,
      logger,
      flowTokens: options.flowTokens,
      defaultProfileFlowId: options.defaultProfileFlowId,
    });
  const statusListeners = options.statusListeners ?? [new DeliveryFollowUp({ ids, clock, logger })];
  const app = {
    database,
    clock,
    ids,
    logger,
    metrics,
    cipher,
    gateway,
    ingestWebhook: new IngestWebhook({
      directory,
      accountEvents: new ApplyAccountEvents({ directory, unitOfWork, logger }),
      // Stored for the worker's claim, as `serve` does with processing left to a worker.
      intake: {
        store: (entries) =>
          database.inboxQueue.store({ entries, now: clock.now(), followUps: followUpsOf(statusListeners) }),
      },
      verifier: options.verifier,
      parser: options.parser,
      cipher,
      ids,
      clock,
      logger,
      metrics,
      ...(options.deploymentAppSecret === undefined
        ? {}
        : { deploymentAppSecret: options.deploymentAppSecret }),
      ...(options.retentionDays === undefined ? {} : { retentionDays: options.retentionDays }),
    }),
    processInbox: new ProcessInbox({
      inboxQueue: database.inboxQueue,
      directory,
      unitOfWork,
      handleInbound: new HandleInbound([...responders, new MainMenuResponder()]),
      ids,
      clock,
      logger,
      metrics,
      statusListeners,
    }),
    sendReply,
    sendQueuedMessage: new SendQueuedMessage({
      records: recordOneByOne(database.outboxQueue),
      sendReply,
      clock,
      logger,
      metrics,
      random: () => 0.5,
      ...(options.sendPolicy === undefined ? {} : { policy: options.sendPolicy }),
    }),
    answerFlowExchange: new AnswerFlowExchange(unitOfWork, {
      [profileFlow]: new ProfileFlowScreens(cipher),
    }),
    manageTenants: new ManageTenants({ directory, apps, unitOfWork, cipher, ids }),
    reportUsage: new ReportUsage({ usage: database.usageLedger, unitOfWork, clock }),
    sendDueReminder: new SendDueReminder({ unitOfWork, notifier, clock, logger, metrics }),
    /** Adds a tenant with one number whose token the in-memory Graph API accepts. */
    addTenant: async (
      phoneNumberId: string,
      accessToken: string,
      extra: { name?: string; appSecret?: string; locale?: string; displayPhone?: string } = {},
    ) => {
      const { tenantId } = await expectOk(
        app.manageTenants.addTenant({
          name: extra.name ?? `Tenant of ${phoneNumberId}`,
          phoneNumberId,
          accessToken,
          wabaId: '102290129340398',
          ...(extra.appSecret === undefined ? {} : { appSecret: extra.appSecret }),
          ...(extra.locale === undefined ? {} : { locale: extra.locale }),
          ...(extra.displayPhone === undefined ? {} : { displayPhone: extra.displayPhone }),
        }),
      );
      if (accessToken !== '') gateway.allow(phoneNumberId as PhoneNumberId, accessToken);
      return tenantId as TenantId;
    },
    /**
     * `from` sends `content` (a text, or any inbound content) to the number, signed with the deployment's
     * app secret, and everything due then runs as a worker would. For apps built with the test verifier
     * and parser (`TestSignatureVerifier`, `JsonBatchParser`).
     */
    receive: async (phoneNumberId: string, from: string, content: string | InboundContent) => {
      const body: InboundContent = typeof content === 'string' ? { type: 'text', body: content } : content;
      await expectOk(
        app.ingestWebhook.execute({
          rawBody: encodeBatch([inboundMessage(phoneNumberId, from, body, { sentAt: clock.now() })]),
          signature: testSignature(options.deploymentAppSecret ?? ''),
        }),
      );
      await app.drain();
    },
    /** Processes everything in the inbox, queues the reminders now due, then sends everything due, as a worker would. */
    drain: async (owner = 'test-worker') => {
      for (;;) {
        const entries = await expectOk(
          database.inboxQueue.claim({ owner, limit: 100, leaseMs: 30_000, now: clock.now() }),
        );
        if (entries.length === 0) break;
        expectProcessed(await app.processInbox.execute(entries));
      }
      for (;;) {
        const reminders = await expectOk(
          database.reminderQueue.claimDue({ owner, limit: 100, leaseMs: 30_000, now: clock.now() }),
        );
        if (reminders.length === 0) break;
        for (const reminder of reminders) await expectOk(app.sendDueReminder.execute(reminder));
      }
      for (;;) {
        const sends = await expectOk(
          database.outboxQueue.claim({
            owner,
            limit: 100,
            leaseMs: 30_000,
            now: clock.now(),
            horizonMs: 60_000,
          }),
        );
        if (sends.length === 0) break;
        for (const send of sends) await expectOk(app.sendQueuedMessage.execute(send));
      }
    },
  };
  return app;
};

export type InMemoryApp = ReturnType<typeof createInMemoryApp>;

/** A failed entry fails the test, with its reason. */
const expectProcessed = (outcomes: readonly EntryOutcome[]): void => {
  const failed = outcomes.find((outcome) => outcome.type === 'failed');
  if (failed !== undefined) throw new Error(`an inbox entry failed: ${JSON.stringify(failed)}`);
};
