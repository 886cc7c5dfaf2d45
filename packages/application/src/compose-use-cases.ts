import { defined } from '@prestabot/domain';
import { AnswerFlowExchange } from './flows/flow-exchange.ts';
import type { FlowTokens } from './flows/flow-tokens.port.ts';
import { ProfileFlowScreens, profileFlow } from './flows/profile-flow.ts';
import { HandleInbound } from './handle-inbound/handle-inbound.ts';
import type { InboundResponder } from './handle-inbound/inbound-responder.port.ts';
import { MainMenuResponder } from './handle-inbound/main-menu-responder.ts';
import { ApplyAccountEvents } from './ingest-webhook/apply-account-events.ts';
import { type InboxIntake, IngestWebhook } from './ingest-webhook/ingest-webhook.ts';
import { WebhookSecrets } from './ingest-webhook/webhook-secrets.ts';
import { loanBotResponders } from './loan-bot.ts';
import { DeliveryFollowUp } from './loans/delivery-follow-up.ts';
import { LoanActions } from './loans/loan-actions.ts';
import { ManageTemplates } from './loans/manage-templates.ts';
import { Notifier } from './loans/notifier.ts';
import { SendDueReminder } from './loans/send-due-reminder.ts';
import { ManageTenants } from './manage-tenants/manage-tenants.ts';
import { ReportUsage } from './manage-tenants/report-usage.ts';
import type { Clock } from './ports/clock.port.ts';
import type { IdGenerator } from './ports/id-generator.port.ts';
import type { InboxQueue, StatusFollowUps } from './ports/inbox.port.ts';
import type { Logger } from './ports/logger.port.ts';
import type { MessagingGateway } from './ports/messaging-gateway.port.ts';
import type { Metrics } from './ports/metrics.port.ts';
import type { SecretCipher } from './ports/secret-cipher.port.ts';
import type { AppRegistry, TenantDirectory } from './ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from './ports/unit-of-work.port.ts';
import type { UsageLedger } from './ports/usage-ledger.port.ts';
import type { WebhookParser, WebhookSignatureVerifier } from './ports/webhook.port.ts';
import { followUpsOf, ProcessInbox, type StatusListener } from './process-inbox/process-inbox.ts';
import { CachingTenantDirectory } from './resolve-tenant/caching-tenant-directory.ts';
import { ResolveTenant } from './resolve-tenant/resolve-tenant.ts';
import {
  type SendPolicy,
  SendQueuedMessage,
  type SendRecorder,
} from './send-queued-message/send-queued-message.ts';
import { NumberAccessTokens, SendReply } from './send-reply/send-reply.ts';

/** Which responders answer, in order, given the loan bot's: all of them unless the embedder chooses. */
export type ChooseResponders = (loanBot: readonly InboundResponder[]) => readonly InboundResponder[];

/** Every port the use cases need, from whichever adapters (or fakes) the caller chose. */
export type UseCasePorts = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly directory: TenantDirectory;
  readonly apps: AppRegistry;
  readonly inboxQueue: InboxQueue;
  readonly usageLedger: UsageLedger;
  readonly cipher: SecretCipher;
  readonly gateway: MessagingGateway;
  readonly verifier: WebhookSignatureVerifier;
  readonly parser: WebhookParser;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly random: () => number;
  /** Where webhook items are stored, given what their statuses mean to the bot (see `InboxIntake`). */
  readonly intake: (followUps: StatusFollowUps) => InboxIntake;
  /** Where what became of sends is recorded. */
  readonly records: SendRecorder;
  /** Paces Graph sends at each number's rate, reading rates from the routing directory. Absent: unpaced. */
  readonly paceSends?: (gateway: MessagingGateway, routing: TenantDirectory) => MessagingGateway;
  /** Absent when the deployment has no Flows key: "My profile" then says it is not available. */
  readonly flowTokens?: FlowTokens | undefined;
};

/** What the deployment's configuration says about the use cases. */
export type UseCaseSettings = {
  readonly deploymentAppSecret?: string | undefined;
  readonly fallbackAccessToken?: string | undefined;
  readonly retentionDays?: number | undefined;
  readonly defaultProfileFlowId?: string | undefined;
  /** How long a number route or app secret is served from memory. Absent: read every time. */
  readonly routingCacheTtlMs?: number | undefined;
  readonly sendPolicy?: SendPolicy | undefined;
  readonly responders?: ChooseResponders | undefined;
  /** What statuses mean to the bot; the loan bot's delivery follow-up when absent. */
  readonly statusListeners?: readonly StatusListener[] | undefined;
};

/**
 * The one place the use cases are built: production, the CLI, the demo, the tests and the benchmarks all
 * call it, with real adapters or fakes. Each collaborator is made once and handed to whoever needs it,
 * so there is one routing cache, one set of opened app secrets and one set of opened tokens.
 */
export const composeUseCases = (ports: UseCasePorts, settings: UseCaseSettings = {}) => {
  const { unitOfWork, cipher, ids, clock, logger, metrics } = ports;
  const routing =
    settings.routingCacheTtlMs === undefined
      ? ports.directory
      : new CachingTenantDirectory(ports.directory, clock, { ttlMs: settings.routingCacheTtlMs });
  const resolveTenant = new ResolveTenant(routing);
  const webhookSecrets = new WebhookSecrets({
    directory: routing,
    cipher,
    logger,
    ...defined({ deploymentAppSecret: settings.deploymentAppSecret }),
  });
  const accessTokens = new NumberAccessTokens({
    unitOfWork,
    cipher,
    logger,
    metrics,
    ...defined({ fallbackAccessToken: settings.fallbackAccessToken }),
  });
  const gateway = ports.paceSends === undefined ? ports.gateway : ports.paceSends(ports.gateway, routing);
  const sendReply = new SendReply({ tokens: accessTokens, gateway });
  const notifier = new Notifier({ ids, clock, logger, metrics });
  const loanActions = new LoanActions({ notifier, ids, clock });
  const loanBot = loanBotResponders({
    actions: loanActions,
    ids,
    clock,
    logger,
    flowTokens: ports.flowTokens,
    defaultProfileFlowId: settings.defaultProfileFlowId,
  });
  const responders = settings.responders === undefined ? loanBot : settings.responders(loanBot);
  const statusListeners = settings.statusListeners ?? [new DeliveryFollowUp({ ids, clock, logger })];
  const intake = ports.intake(followUpsOf(statusListeners));
  return {
    routing,
    resolveTenant,
    webhookSecrets,
    accessTokens,
    sendReply,
    statusListeners,
    intake,
    ingestWebhook: new IngestWebhook({
      resolveTenant,
      secrets: webhookSecrets,
      accountEvents: new ApplyAccountEvents({ directory: ports.directory, unitOfWork, logger }),
      intake,
      verifier: ports.verifier,
      parser: ports.parser,
      ids,
      clock,
      logger,
      metrics,
      ...defined({ retentionDays: settings.retentionDays }),
    }),
    processInbox: new ProcessInbox({
      inboxQueue: ports.inboxQueue,
      resolveTenant,
      unitOfWork,
      handleInbound: new HandleInbound([...responders, new MainMenuResponder()]),
      ids,
      clock,
      logger,
      metrics,
      statusListeners,
    }),
    sendQueuedMessage: new SendQueuedMessage({
      records: ports.records,
      templates: {
        stop: (tenantId, { name, language }, stop) =>
          unitOfWork.run(tenantId, (repositories) =>
            repositories.templates.recordMetaStatus(name, language, stop),
          ),
      },
      sendReply,
      clock,
      logger,
      metrics,
      random: ports.random,
      ...defined({ policy: settings.sendPolicy }),
    }),
    sendDueReminder: new SendDueReminder({ unitOfWork, notifier, clock, logger, metrics }),
    answerFlowExchange: new AnswerFlowExchange(unitOfWork, { [profileFlow]: new ProfileFlowScreens(cipher) }),
    manageTenants: new ManageTenants({
      directory: ports.directory,
      apps: ports.apps,
      unitOfWork,
      cipher,
      ids,
    }),
    manageTemplates: new ManageTemplates(unitOfWork),
    reportUsage: new ReportUsage({ usage: ports.usageLedger, unitOfWork, clock }),
  };
};

export type UseCases = ReturnType<typeof composeUseCases>;
