import type { InboundContent, PhoneNumberId, TenantId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { composeUseCases, type UseCasePorts } from '../compose-use-cases.ts';
import type { FlowTokens } from '../flows/flow-tokens.port.ts';
import type { InboundResponder } from '../handle-inbound/inbound-responder.port.ts';
import type { MessagingGateway } from '../ports/messaging-gateway.port.ts';
import type { WebhookParser, WebhookSignatureVerifier } from '../ports/webhook.port.ts';
import type { EntryOutcome } from '../process-inbox/entry-outcome.ts';
import type { StatusListener } from '../process-inbox/process-inbox.ts';
import type { SendPolicy } from '../send-queued-message/send-queued-message.ts';
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
  /** The test's own clock and logger, when it needs them before the app exists (default: fresh ones). */
  readonly clock?: ManualClock;
  readonly logger?: RecordingLogger;
  /** What the use cases send through, given the recording gateway (default: that gateway itself). */
  readonly gatewayOf?: (recording: RecordingGateway) => MessagingGateway;
  /** Paces sends as the runtime's rate guard does (default: unpaced). */
  readonly paceSends?: UseCasePorts['paceSends'];
  /** How long routes and app secrets are served from memory; unset, read every time. */
  readonly routingCacheTtlMs?: number;
  /** `PRESTABOT_RETENTION_DAYS`: items older than this are not taken in; unset, every item is. */
  readonly retentionDays?: number;
};

/** Every use case wired to in-memory ports: the whole bot in one process, for tests. */
export const createInMemoryApp = (options: InMemoryAppOptions) => {
  const database = new InMemoryDatabase();
  const clock = options.clock ?? new ManualClock();
  const ids = new SequentialIds();
  const logger = options.logger ?? new RecordingLogger();
  const metrics = new RecordingMetrics();
  const cipher = new FakeSecretCipher();
  const gateway = new RecordingGateway();
  const { responders } = options;
  const useCases = composeUseCases(
    {
      unitOfWork: database.unitOfWork,
      directory: database.directory,
      apps: database.apps,
      inboxQueue: database.inboxQueue,
      usageLedger: database.usageLedger,
      cipher,
      gateway: options.gatewayOf === undefined ? gateway : options.gatewayOf(gateway),
      verifier: options.verifier,
      parser: options.parser,
      ids,
      clock,
      logger,
      metrics,
      random: () => 0.5,
      // Stored for the worker's claim, as `serve` does with processing left to a worker.
      intake: (followUps) => ({
        store: (entries) => database.inboxQueue.store({ entries, now: clock.now(), followUps }),
      }),
      records: recordOneByOne(database.outboxQueue),
      ...defined({ flowTokens: options.flowTokens }),
      ...defined({ paceSends: options.paceSends }),
    },
    {
      deploymentAppSecret: options.deploymentAppSecret,
      fallbackAccessToken: options.fallbackAccessToken,
      retentionDays: options.retentionDays,
      routingCacheTtlMs: options.routingCacheTtlMs,
      defaultProfileFlowId: options.defaultProfileFlowId,
      sendPolicy: options.sendPolicy,
      responders: responders === undefined ? undefined : () => responders,
      statusListeners: options.statusListeners,
    },
  );
  const app = {
    database,
    clock,
    ids,
    logger,
    metrics,
    cipher,
    gateway,
    ...useCases,
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
          ...defined({ appSecret: extra.appSecret }),
          ...defined({ locale: extra.locale }),
          ...defined({ displayPhone: extra.displayPhone }),
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
