import {
  CachingTenantDirectory,
  type Clock,
  type Logger,
  type MessagingGateway,
  type Metrics,
  NumberAccessTokens,
  type SecretCipher,
  type SendPolicy,
  SendQueuedMessage,
  SendReply,
} from '@prestabot/application';
import type { InMemoryDatabase } from '@prestabot/application/testing';
import {
  groupCommittedRecorder,
  OutboxDispatcher,
  type OutboxDispatcherOptions,
  routingCacheTtlMs,
  SendRateGuard,
} from '@prestabot/runtime';

/**
 * The sending half of a worker process, wired as `prestabot worker` wires it (the reply sender behind the
 * rate guard, which reads rates through the caching directory; the queued-message sender; the
 * dispatcher), over in-memory storage and a gateway the caller can watch: for the outbound benchmark and
 * the outbound end-to-end tests.
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
  const { database, cipher, clock, logger, metrics } = parts;
  const guard = new SendRateGuard({
    directory: new CachingTenantDirectory(database.directory, clock, { ttlMs: routingCacheTtlMs }),
    clock,
    logger,
  });
  const sendReply = new SendReply({
    tokens: new NumberAccessTokens({ unitOfWork: database.unitOfWork, cipher, logger, metrics }),
    gateway: guard.guard(parts.gateway),
  });
  const sender = new SendQueuedMessage({
    records: groupCommittedRecorder({ outboxQueue: database.outboxQueue, logger }),
    sendReply,
    clock,
    logger,
    metrics,
    random: Math.random,
    ...(parts.policy === undefined ? {} : { policy: parts.policy }),
  });
  return new OutboxDispatcher({ queue: database.outboxQueue, sender, clock, logger, metrics }, parts.options);
};
