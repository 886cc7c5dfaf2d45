import { HmacSignatureVerifier, ZodWebhookParser } from '@prestabot/adapters-meta';
import {
  type Clock,
  composeUseCases,
  type Logger,
  type MessagingGateway,
  type Metrics,
  type SecretCipher,
  type SendPolicy,
} from '@prestabot/application';
import type { InMemoryDatabase } from '@prestabot/application/testing';
import {
  groupCommittedIntake,
  OutboxDispatcher,
  type OutboxDispatcherOptions,
  routingCacheTtlMs,
  runtimeSending,
  timeOrderedIds,
} from '@prestabot/runtime';

/**
 * The sending half of a worker process, wired as `prestabot worker` wires it (the use cases from the one
 * composition function, sending as the runtime sends: behind the rate guard, outcomes in group commits),
 * over in-memory storage and a gateway the caller can watch: for the outbound benchmark and the outbound
 * end-to-end tests.
 */
export const inMemoryOutboundWorker = (parts: {
  readonly database: InMemoryDatabase;
  readonly cipher: SecretCipher;
  readonly gateway: MessagingGateway;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly options: OutboxDispatcherOptions;
  readonly policy?: SendPolicy;
}): OutboxDispatcher => {
  const { database, clock, logger, metrics } = parts;
  const { sendQueuedMessage } = composeUseCases(
    {
      unitOfWork: database.unitOfWork,
      directory: database.directory,
      apps: database.apps,
      inboxQueue: database.inboxQueue,
      usageLedger: database.usageLedger,
      cipher: parts.cipher,
      gateway: parts.gateway,
      verifier: new HmacSignatureVerifier(),
      parser: new ZodWebhookParser(),
      ids: timeOrderedIds,
      clock,
      logger,
      metrics,
      random: Math.random,
      intake: (followUps) =>
        groupCommittedIntake({ inboxQueue: database.inboxQueue, clock, followUps }, undefined),
      ...runtimeSending({ outboxQueue: database.outboxQueue, clock, logger }),
    },
    { routingCacheTtlMs, sendPolicy: parts.policy },
  );
  return new OutboxDispatcher(
    { queue: database.outboxQueue, sender: sendQueuedMessage, clock, logger, metrics },
    parts.options,
  );
};
