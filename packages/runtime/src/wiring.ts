import {
  type ChooseResponders,
  type Clock,
  composeUseCases,
  type FlowTokens,
  type IdGenerator,
  type Logger,
  type Metrics,
  type OutboxQueue,
  portTokens,
  SendRateGuard,
  type SendRecorder,
  type Token,
  type UseCasePorts,
  type UseCases,
} from '@prestabot/application';
import { timeOrderedUuid, timeOrderedUuidRandomBytes } from '@prestabot/domain';
import { ContainerModule, type ResolutionContext } from 'inversify';
import type { Config } from './config.ts';
import {
  groupCommittedIntake,
  groupCommittedRecorder,
  type RidingRecords,
  type StoringProcessor,
} from './worker/batched-writes.ts';
import { systemTimers } from './worker/wake-up.ts';

const token = <T>(name: string): Token<T> => Symbol.for(`prestabot.runtime.${name}`) as Token<T>;

/** What the runtime itself provides, on top of the ports adapters bind. */
export const runtimeTokens = {
  config: token<Config>('Config'),
  /** Every use case, built once by the application's `composeUseCases` from the bound ports. */
  useCases: token<UseCases>('UseCases'),
  /** What the Flows need from the deployment; `tokens` absent without an encryption key (Flows are then off). */
  flows: token<{ readonly tokens?: FlowTokens }>('Flows'),
  /** The embedding application's choice of responders, given the loan bot's (`createPrestaBot`). */
  chooseResponders: token<ChooseResponders>('ChooseResponders'),
  /**
   * Who answers messages in the transaction that stores their webhook: set by `assembleBot` once the
   * inbox worker exists, which needs the use cases the intake is part of.
   */
  storingProcessor: token<{ current?: StoringProcessor }>('StoringProcessor'),
} as const;

/** A typed `get`: the token says what comes back. */
export const resolve = <T>(context: Pick<ResolutionContext, 'get'>, id: Token<T>): T => context.get<T>(id);

/** How long a number route or an app secret may be served from memory before it is read again. */
export const routingCacheTtlMs = 5000;

/**
 * How a deployment sends: outcomes recorded in group commits, and every Graph send paced by the rate guard
 * at its number's rate (read through the routing cache).
 */
export const runtimeSending = (ports: {
  readonly outboxQueue: OutboxQueue;
  readonly clock: Clock;
  readonly logger: Logger;
}): Pick<UseCasePorts, 'paceSends'> & { readonly records: SendRecorder & RidingRecords } => ({
  records: groupCommittedRecorder({ outboxQueue: ports.outboxQueue, logger: ports.logger }),
  paceSends: (gateway, routing) =>
    new SendRateGuard({
      directory: routing,
      clock: ports.clock,
      logger: ports.logger,
      timers: systemTimers,
    }).guard(gateway),
});

/**
 * The use cases, built by the application's one composition function from the ports the adapters bound:
 * inversify plugs adapters in, and the function, which knows no framework, builds what uses them (the
 * tests call it with fakes). `lease`: with it, each webhook item stored is held by this process and
 * processed right after the response; without, every item waits for a worker's claim
 * (`serve --ingest-only`).
 */
export const useCasesModule = (lease: { readonly owner: string; readonly leaseMs: number } | undefined) =>
  new ContainerModule(({ bind }) => {
    bind(runtimeTokens.storingProcessor).toConstantValue({});
    bind(runtimeTokens.useCases)
      .toDynamicValue((context) => {
        const get = <T>(id: Token<T>) => resolve(context, id);
        const config = get(runtimeTokens.config);
        const [clock, logger] = [get(portTokens.clock), get(portTokens.logger)];
        const inboxQueue = get(portTokens.inboxQueue);
        const outboxQueue = get(portTokens.outboxQueue);
        const storingProcessor = get(runtimeTokens.storingProcessor);
        const sending = runtimeSending({ outboxQueue, clock, logger });
        return composeUseCases(
          {
            unitOfWork: get(portTokens.unitOfWork),
            directory: get(portTokens.tenantDirectory),
            apps: get(portTokens.appRegistry),
            inboxQueue,
            usageLedger: get(portTokens.usageLedger),
            cipher: get(portTokens.secretCipher),
            gateway: get(portTokens.messagingGateway),
            verifier: get(portTokens.webhookVerifier),
            parser: get(portTokens.webhookParser),
            ids: get(portTokens.ids),
            clock,
            logger,
            metrics: get(portTokens.metrics),
            random: get(portTokens.random),
            intake: (followUps) =>
              groupCommittedIntake(
                {
                  inboxQueue,
                  clock,
                  followUps,
                  processor: () => storingProcessor.current,
                  records: sending.records,
                  logger,
                },
                lease,
              ),
            ...sending,
            flowTokens: get(runtimeTokens.flows).tokens,
          },
          {
            deploymentAppSecret: config.deploymentAppSecret,
            fallbackAccessToken: config.fallbackAccessToken,
            retentionDays: config.retentionDays,
            defaultProfileFlowId: config.profileFlowId,
            routingCacheTtlMs,
            responders: get(runtimeTokens.chooseResponders),
          },
        );
      })
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

export const platformModule = (services: PlatformServices) =>
  new ContainerModule(({ bind }) => {
    bind(runtimeTokens.config).toConstantValue(services.config);
    bind(portTokens.logger).toConstantValue(services.logger);
    bind(portTokens.metrics).toConstantValue(services.metrics);
    bind(portTokens.clock).toConstantValue(services.clock ?? systemClock);
    bind(portTokens.ids).toConstantValue(services.ids ?? timeOrderedIds);
    bind(portTokens.random).toConstantValue(services.random ?? Math.random);
  });
