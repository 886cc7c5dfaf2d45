import {
  AnswerFlowExchange,
  CachingTenantDirectory,
  type Clock,
  DeliveryFollowUp,
  type FlowTokens,
  followUpsOf,
  HandleInbound,
  type IdGenerator,
  type InboundResponder,
  type InboxIntake,
  IngestWebhook,
  LoanActions,
  type Logger,
  loanBotResponders,
  MainMenuResponder,
  ManageTemplates,
  ManageTenants,
  type MessagingGateway,
  type Metrics,
  Notifier,
  NumberAccessTokens,
  ProcessInbox,
  ProfileFlowScreens,
  portTokens,
  profileFlow,
  ReportUsage,
  SendDueReminder,
  SendQueuedMessage,
  type SendRecorder,
  SendReply,
  type TenantDirectory,
  type Token,
  WebhookSecrets,
} from '@prestabot/application';
import { timeOrderedUuid, timeOrderedUuidRandomBytes } from '@prestabot/domain';
import { ContainerModule, type ResolutionContext } from 'inversify';
import type { Config } from './config.ts';
import { groupCommittedIntake, groupCommittedRecorder } from './worker/batched-writes.ts';
import { SendRateGuard } from './worker/outbox-dispatcher.ts';

const token = <T>(name: string): Token<T> => Symbol.for(`prestabot.runtime.${name}`) as Token<T>;

/** Which responders answer, in order, given the loan bot's: all of them unless the embedder chooses. */
export type ChooseResponders = (loanBot: readonly InboundResponder[]) => readonly InboundResponder[];

/** What the runtime itself provides, on top of the ports adapters bind. */
export const runtimeTokens = {
  config: token<Config>('Config'),
  /** The directory with a short cache in front: the webhook path. The CLI uses the plain one. */
  routingDirectory: token<TenantDirectory>('RoutingDirectory'),
  ingestWebhook: token<IngestWebhook>('IngestWebhook'),
  /** The app secrets behind the routing cache: what the Flows endpoint checks signatures with. */
  webhookSecrets: token<WebhookSecrets>('WebhookSecrets'),
  /** Where webhook items are stored: behind a group commit, held by this process when it processes them. */
  inboxIntake: token<InboxIntake>('InboxIntake'),
  processInbox: token<ProcessInbox>('ProcessInbox'),
  /** Every number's access token, opened once per ciphertext: the send path and the Flows key upload. */
  accessTokens: token<NumberAccessTokens>('NumberAccessTokens'),
  sendReply: token<SendReply>('SendReply'),
  /** Where what became of sends is recorded: behind a group commit. */
  sendRecorder: token<SendRecorder>('SendRecorder'),
  sendQueuedMessage: token<SendQueuedMessage>('SendQueuedMessage'),
  manageTenants: token<ManageTenants>('ManageTenants'),
  manageTemplates: token<ManageTemplates>('ManageTemplates'),
  reportUsage: token<ReportUsage>('ReportUsage'),
  /** The Graph gateway behind this process's rate guard: what every send goes through. */
  guardedGateway: token<MessagingGateway>('GuardedGateway'),
  notifier: token<Notifier>('Notifier'),
  loanActions: token<LoanActions>('LoanActions'),
  sendDueReminder: token<SendDueReminder>('SendDueReminder'),
  /** What the Flows need from the deployment; `tokens` absent without an encryption key (Flows are then off). */
  flows: token<{ readonly tokens?: FlowTokens }>('Flows'),
  /** The embedding application's choice of responders, given the loan bot's (`createPrestaBot`). */
  chooseResponders: token<ChooseResponders>('ChooseResponders'),
  answerFlowExchange: token<AnswerFlowExchange>('AnswerFlowExchange'),
} as const;

/** A typed `get`: the token says what comes back. */
export const resolve = <T>(context: Pick<ResolutionContext, 'get'>, id: Token<T>): T => context.get<T>(id);

/** How long a number route or an app secret may be served from memory before it is read again. */
export const routingCacheTtlMs = 5000;

/**
 * The use cases, wired from the ports adapters bind. Both hosts load this module; it holds no
 * framework in the use cases themselves, only in how they are put together.
 */
export const useCasesModule = new ContainerModule(({ bind }) => {
  bind(runtimeTokens.routingDirectory)
    .toDynamicValue(
      (context) =>
        new CachingTenantDirectory(
          resolve(context, portTokens.tenantDirectory),
          resolve(context, portTokens.clock),
          { ttlMs: routingCacheTtlMs },
        ),
    )
    .inSingletonScope();
  bind(runtimeTokens.webhookSecrets)
    .toDynamicValue(
      (context) =>
        new WebhookSecrets({
          directory: resolve(context, runtimeTokens.routingDirectory),
          cipher: resolve(context, portTokens.secretCipher),
          logger: resolve(context, portTokens.logger),
          deploymentAppSecret: resolve(context, runtimeTokens.config).deploymentAppSecret,
        }),
    )
    .inSingletonScope();
  bind(portTokens.handleInbound)
    .toDynamicValue(
      (context) =>
        new HandleInbound([...resolve(context, portTokens.inboundResponders), new MainMenuResponder()]),
    )
    .inSingletonScope();
  bind(runtimeTokens.ingestWebhook)
    .toDynamicValue((context) => {
      const config = resolve(context, runtimeTokens.config);
      return new IngestWebhook({
        directory: resolve(context, runtimeTokens.routingDirectory),
        intake: resolve(context, runtimeTokens.inboxIntake),
        verifier: resolve(context, portTokens.webhookVerifier),
        parser: resolve(context, portTokens.webhookParser),
        cipher: resolve(context, portTokens.secretCipher),
        ids: resolve(context, portTokens.ids),
        clock: resolve(context, portTokens.clock),
        logger: resolve(context, portTokens.logger),
        metrics: resolve(context, portTokens.metrics),
        ...(config.deploymentAppSecret === undefined
          ? {}
          : { deploymentAppSecret: config.deploymentAppSecret }),
        retentionDays: config.retentionDays,
      });
    })
    .inSingletonScope();
  bind(runtimeTokens.processInbox)
    .toDynamicValue(
      (context) =>
        new ProcessInbox({
          inboxQueue: resolve(context, portTokens.inboxQueue),
          directory: resolve(context, runtimeTokens.routingDirectory),
          unitOfWork: resolve(context, portTokens.unitOfWork),
          handleInbound: resolve(context, portTokens.handleInbound),
          ids: resolve(context, portTokens.ids),
          clock: resolve(context, portTokens.clock),
          logger: resolve(context, portTokens.logger),
          metrics: resolve(context, portTokens.metrics),
          statusListeners: resolve(context, portTokens.statusListeners),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.accessTokens)
    .toDynamicValue((context) => {
      const config = resolve(context, runtimeTokens.config);
      return new NumberAccessTokens({
        unitOfWork: resolve(context, portTokens.unitOfWork),
        cipher: resolve(context, portTokens.secretCipher),
        logger: resolve(context, portTokens.logger),
        metrics: resolve(context, portTokens.metrics),
        ...(config.fallbackAccessToken === undefined
          ? {}
          : { fallbackAccessToken: config.fallbackAccessToken }),
      });
    })
    .inSingletonScope();
  bind(runtimeTokens.sendReply)
    .toDynamicValue(
      (context) =>
        new SendReply({
          tokens: resolve(context, runtimeTokens.accessTokens),
          gateway: resolve(context, runtimeTokens.guardedGateway),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.sendRecorder)
    .toDynamicValue((context) =>
      groupCommittedRecorder({
        outboxQueue: resolve(context, portTokens.outboxQueue),
        logger: resolve(context, portTokens.logger),
      }),
    )
    .inSingletonScope();
  bind(runtimeTokens.sendQueuedMessage)
    .toDynamicValue(
      (context) =>
        new SendQueuedMessage({
          records: resolve(context, runtimeTokens.sendRecorder),
          sendReply: resolve(context, runtimeTokens.sendReply),
          clock: resolve(context, portTokens.clock),
          logger: resolve(context, portTokens.logger),
          metrics: resolve(context, portTokens.metrics),
          random: resolve(context, portTokens.random),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.guardedGateway)
    .toDynamicValue((context) =>
      new SendRateGuard({
        directory: resolve(context, runtimeTokens.routingDirectory),
        clock: resolve(context, portTokens.clock),
        logger: resolve(context, portTokens.logger),
      }).guard(resolve(context, portTokens.messagingGateway)),
    )
    .inSingletonScope();
  bind(runtimeTokens.manageTemplates)
    .toDynamicValue((context) => new ManageTemplates(resolve(context, portTokens.unitOfWork)))
    .inSingletonScope();
  bind(runtimeTokens.reportUsage)
    .toDynamicValue(
      (context) =>
        new ReportUsage({
          usage: resolve(context, portTokens.usageLedger),
          unitOfWork: resolve(context, portTokens.unitOfWork),
          clock: resolve(context, portTokens.clock),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.manageTenants)
    .toDynamicValue(
      (context) =>
        new ManageTenants({
          directory: resolve(context, portTokens.tenantDirectory),
          apps: resolve(context, portTokens.appRegistry),
          unitOfWork: resolve(context, portTokens.unitOfWork),
          cipher: resolve(context, portTokens.secretCipher),
          ids: resolve(context, portTokens.ids),
        }),
    )
    .inSingletonScope();
});

/** The loan bot: opt-out, the loan conversation before the main menu, and what statuses mean for loans. */
export const loanBotModule = new ContainerModule(({ bind }) => {
  bind(runtimeTokens.notifier)
    .toDynamicValue(
      (context) =>
        new Notifier({
          ids: resolve(context, portTokens.ids),
          clock: resolve(context, portTokens.clock),
          logger: resolve(context, portTokens.logger),
          metrics: resolve(context, portTokens.metrics),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.loanActions)
    .toDynamicValue(
      (context) =>
        new LoanActions({
          notifier: resolve(context, runtimeTokens.notifier),
          ids: resolve(context, portTokens.ids),
          clock: resolve(context, portTokens.clock),
        }),
    )
    .inSingletonScope();
  bind(portTokens.inboundResponders)
    .toDynamicValue((context) => {
      const loanBot = loanBotResponders({
        actions: resolve(context, runtimeTokens.loanActions),
        ids: resolve(context, portTokens.ids),
        clock: resolve(context, portTokens.clock),
        logger: resolve(context, portTokens.logger),
        flowTokens: resolve(context, runtimeTokens.flows).tokens,
        defaultProfileFlowId: resolve(context, runtimeTokens.config).profileFlowId,
      });
      return resolve(context, runtimeTokens.chooseResponders)(loanBot);
    })
    .inSingletonScope();
  bind(portTokens.statusListeners)
    .toDynamicValue((context) => [
      new DeliveryFollowUp({
        ids: resolve(context, portTokens.ids),
        clock: resolve(context, portTokens.clock),
        logger: resolve(context, portTokens.logger),
      }),
    ])
    .inSingletonScope();
  bind(runtimeTokens.answerFlowExchange)
    .toDynamicValue(
      (context) =>
        new AnswerFlowExchange(resolve(context, portTokens.unitOfWork), {
          [profileFlow]: new ProfileFlowScreens(resolve(context, portTokens.secretCipher)),
        }),
    )
    .inSingletonScope();
  bind(runtimeTokens.sendDueReminder)
    .toDynamicValue(
      (context) =>
        new SendDueReminder({
          unitOfWork: resolve(context, portTokens.unitOfWork),
          notifier: resolve(context, runtimeTokens.notifier),
          clock: resolve(context, portTokens.clock),
          logger: resolve(context, portTokens.logger),
          metrics: resolve(context, portTokens.metrics),
        }),
    )
    .inSingletonScope();
});

/** What the host provides: configuration, logs, metrics, and (for tests) time, ids and randomness. */
export type PlatformServices = {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly random?: () => number;
};

export const systemClock: Clock = { now: () => new Date() };
/** Random bytes for 512 ids at a time: a `getRandomValues` call per id cost more than the id itself. */
const randomPool = {
  bytes: new Uint8Array(512 * timeOrderedUuidRandomBytes),
  used: Number.POSITIVE_INFINITY,
};
const freshRandomBytes = (): Uint8Array => {
  if (randomPool.used + timeOrderedUuidRandomBytes > randomPool.bytes.length) {
    crypto.getRandomValues(randomPool.bytes);
    randomPool.used = 0;
  }
  randomPool.used += timeOrderedUuidRandomBytes;
  return randomPool.bytes.subarray(randomPool.used - timeOrderedUuidRandomBytes, randomPool.used);
};

/** The last id's millisecond and random bits, so the next id of the same millisecond sorts after it. */
const lastId = { millis: -1, random: new Uint8Array(timeOrderedUuidRandomBytes) };
/** Adds one to the random bits from byte 3 on (RFC 9562 monotonic random); false when they overflow. */
const incrementRandom = (random: Uint8Array): boolean => {
  for (let index = random.length - 1; index >= 3; index -= 1) {
    random[index] = (random[index]! + 1) & 0xff;
    if (random[index] !== 0) return true;
  }
  return false;
};

/**
 * UUIDv7 ids: keys that sort by creation keep inserts at the right edge of each index. Ids made in the
 * same millisecond sort in the order they were made too: the outbox sends one recipient's messages of a
 * turn in id order, so the order the bot decided is the order they arrive in.
 */
export const timeOrderedIds: IdGenerator = {
  uuid: () => {
    const millis = Date.now();
    if (millis > lastId.millis || !incrementRandom(lastId.random)) {
      lastId.millis = Math.max(millis, lastId.millis + 1);
      lastId.random.set(freshRandomBytes());
      // Headroom: a top bit left clear leaves 2^55 increments before a millisecond overflows.
      lastId.random[3] = lastId.random[3]! & 0x7f;
    }
    return timeOrderedUuid(lastId.millis, lastId.random);
  },
};

/**
 * Where this process stores webhook items: with `owner`, each new entry is held by it and processed right
 * after the response; without, every entry waits for a worker's claim (`serve --ingest-only`).
 */
export const intakeModule = (lease: { readonly owner: string; readonly leaseMs: number } | undefined) =>
  new ContainerModule(({ bind }) => {
    bind(runtimeTokens.inboxIntake)
      .toDynamicValue((context) =>
        groupCommittedIntake(
          {
            inboxQueue: resolve(context, portTokens.inboxQueue),
            clock: resolve(context, portTokens.clock),
            followUps: followUpsOf(resolve(context, portTokens.statusListeners)),
          },
          lease,
        ),
      )
      .inSingletonScope();
  });

export const platformModule = (services: PlatformServices) =>
  new ContainerModule(({ bind }) => {
    bind(runtimeTokens.config).toConstantValue(services.config);
    bind(portTokens.logger).toConstantValue(services.logger);
    bind(portTokens.metrics).toConstantValue(services.metrics);
    bind(portTokens.clock).toConstantValue(services.clock ?? systemClock);
    bind(portTokens.ids).toConstantValue(services.ids ?? timeOrderedIds);
    bind(portTokens.random).toConstantValue(services.random ?? Math.random);
  });
