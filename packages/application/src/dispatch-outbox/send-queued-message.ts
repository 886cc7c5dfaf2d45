import { ok, okAsync, type ResultAsync, safeTry } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { ClaimedSend, OutboxFailure } from '../ports/outbox.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { SendReply, SendReplyError } from '../send-reply/send-reply.ts';
import { pairRateHoldMs, retryDelayMs } from './backoff.ts';
import { sendDeadline } from './send-pacing.ts';

export type SendOutcome =
  | 'sent'
  | 'retry_scheduled'
  | 'recipient_held'
  | 'token_invalid'
  /** Meta said the 24-hour window is closed; the message's approved template goes instead. */
  | 'switched_to_template'
  | 'failed'
  /** Its send slot passed before it could leave: back in the queue for a new one, no attempt counted. */
  | 'slot_missed'
  /** Another worker owns the message now; this one's result was dropped. */
  | 'lease_lost';

export type SendPolicy = {
  /** Attempts after which a retryable failure becomes final. */
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** A message still unsent this long after it was queued is dropped as stale. */
  readonly maxAgeMs: number;
  /** How long a number whose token Graph rejected waits before its queue is looked at again. */
  readonly tokenInvalidPauseMs: number;
};

export const defaultSendPolicy: SendPolicy = {
  maxAttempts: 8,
  backoffBaseMs: 1000,
  backoffCapMs: 5 * 60 * 1000,
  maxAgeMs: 24 * 60 * 60 * 1000,
  tokenInvalidPauseMs: 60 * 1000,
};

export type SendQueuedMessageDependencies = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly sendReply: SendReply;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly random: () => number;
  readonly policy?: SendPolicy;
};

/** Sends one claimed outbox message and records what became of it: sent, retried later, or failed for good. */
export class SendQueuedMessage {
  readonly #deps: SendQueuedMessageDependencies;
  readonly #policy: SendPolicy;

  constructor(dependencies: SendQueuedMessageDependencies) {
    this.#deps = dependencies;
    this.#policy = dependencies.policy ?? defaultSendPolicy;
  }

  execute(send: ClaimedSend): ResultAsync<SendOutcome, StorageError> {
    const { clock, sendReply } = this.#deps;
    if (clock.now().getTime() - send.createdAt.getTime() > this.#policy.maxAgeMs) {
      return this.#fail(send, { reason: 'expired' });
    }
    return sendReply
      .execute({
        tenantId: send.tenantId,
        phoneNumberId: send.phoneNumberId,
        message: send.message,
        callbackData: send.id,
        notBefore: send.sendAt,
        deadline: sendDeadline(send),
        ...(send.recipient === undefined ? {} : { recipient: send.recipient }),
        ...(send.replyTo === undefined ? {} : { replyTo: send.replyTo }),
      })
      .andThen((accepted) => this.#recordSent(send, accepted.wamid))
      .orElse((error) => this.#handleFailure(send, error));
  }

  #recordSent(send: ClaimedSend, wamid: ClaimedSend['wamid']): ResultAsync<SendOutcome, StorageError> {
    const { unitOfWork, clock, metrics, logger } = this.#deps;
    const at = clock.now();
    return unitOfWork
      .run(send.tenantId, (repositories) =>
        safeTry(async function* () {
          const owned = yield* repositories.outbox.markSent(send.id, send.lease, wamid, at);
          if (!owned) return ok('lease_lost' as const);
          if (wamid !== undefined) {
            yield* repositories.messages.recordOutbound({
              wamid,
              phoneNumberId: send.phoneNumberId,
              outboxId: send.id,
              origin: send.origin,
              type: send.message.type,
              acceptedAt: at,
              ...(send.contactId === undefined ? {} : { contactId: send.contactId }),
            });
          }
          return ok('sent' as const);
        }),
      )
      .map((outcome) => {
        metrics.increment('outbound_messages_total', {
          status: outcome === 'sent' ? 'accepted' : outcome,
          type: send.message.type,
        });
        metrics.observe('outbox_send_lag_seconds', (at.getTime() - send.notBefore.getTime()) / 1000);
        logger.debug(
          { tenantId: send.tenantId, phoneNumberId: send.phoneNumberId, wamid, outboxId: send.id, outcome },
          'message sent',
        );
        return outcome;
      });
  }

  #handleFailure(send: ClaimedSend, error: SendReplyError): ResultAsync<SendOutcome, StorageError> {
    const { clock, random, logger } = this.#deps;
    const now = clock.now();
    const policy = this.#policy;
    const fields = {
      tenantId: send.tenantId,
      phoneNumberId: send.phoneNumberId,
      outboxId: send.id,
      error: error.type,
    };
    switch (error.type) {
      case 'storage_error':
        return this.#retry(
          send,
          now,
          { reason: 'storage_error', details: error.message },
          retryDelayMs(send.attempts, random, capOf(policy)),
        );
      case 'no_access_token':
        logger.error(
          fields,
          `number ${send.phoneNumberId} has no access token and WHATSAPP_ACCESS_TOKEN is not set; message not sent`,
        );
        return this.#fail(send, { reason: 'no_access_token' });
      case 'number_not_found':
        return this.#fail(send, { reason: 'number_not_found' });
      case 'encryption_key_missing':
      case 'secret_unreadable':
        logger.error(
          fields,
          `the access token of number ${send.phoneNumberId} cannot be opened: ${error.message}`,
        );
        return this.#retry(
          send,
          now,
          { reason: error.type },
          retryDelayMs(send.attempts, random, capOf(policy)),
        );
      case 'send_retryable':
        return this.#retry(
          send,
          now,
          failureOf('retryable', error),
          retryDelayMs(send.attempts, random, { ...capOf(policy), retryAfterMs: error.retryAfterMs }),
        );
      case 'send_pair_rate_limited': {
        const holdMs = Math.max(pairRateHoldMs(send.attempts), error.retryAfterMs ?? 0);
        const until = new Date(now.getTime() + holdMs);
        return this.#deps.unitOfWork
          .run(send.tenantId, (repositories) =>
            send.recipient === undefined
              ? okAsync(undefined)
              : repositories.outbox.holdRecipient(send.phoneNumberId, send.recipient, until),
          )
          .andThen(() => this.#retryAt(send, until, failureOf('pair_rate_limited', error), 'recipient_held'));
      }
      case 'send_token_invalid':
        logger.error(
          { ...fields, code: error.code },
          `Graph rejected the access token of number ${send.phoneNumberId} (code ${error.code}); its messages wait until the token is rotated`,
        );
        return this.#deps.unitOfWork
          .run(send.tenantId, (repositories) =>
            repositories.numbers.markTokenInvalid(send.phoneNumberId, error.code, now),
          )
          .andThen(() =>
            this.#retryAt(
              send,
              new Date(now.getTime() + policy.tokenInvalidPauseMs),
              failureOf('token_invalid', error),
              'token_invalid',
            ),
          );
      case 'send_window_closed':
        if (send.fallback !== undefined) {
          const failure = failureOf('window_closed', error);
          return this.#record(
            send,
            (repositories) => repositories.outbox.switchToFallback(send.id, send.lease, now),
            'switched_to_template',
            failure,
          );
        }
        return this.#fail(send, failureOf('window_closed', error));
      case 'send_slot_missed':
        return this.#record(
          send,
          (repositories) => repositories.outbox.requeue(send.id, send.lease),
          'slot_missed',
          { reason: 'slot_missed' },
        );
      case 'send_rejected':
        logger.warn(
          { ...fields, code: error.code, title: error.title, details: error.details },
          'Graph refused the message',
        );
        return this.#fail(send, failureOf('rejected', error));
    }
  }

  #retry(
    send: ClaimedSend,
    now: Date,
    failure: OutboxFailure,
    delayMs: number,
  ): ResultAsync<SendOutcome, StorageError> {
    if (send.attempts + 1 >= this.#policy.maxAttempts)
      return this.#fail(send, { ...failure, reason: `${failure.reason}_retries_exhausted` });
    return this.#retryAt(send, new Date(now.getTime() + delayMs), failure, 'retry_scheduled');
  }

  #retryAt(
    send: ClaimedSend,
    at: Date,
    failure: OutboxFailure,
    outcome: SendOutcome,
  ): ResultAsync<SendOutcome, StorageError> {
    return this.#record(
      send,
      (repositories) => repositories.outbox.retryLater(send.id, send.lease, at, failure),
      outcome,
      failure,
    );
  }

  #fail(send: ClaimedSend, failure: OutboxFailure): ResultAsync<SendOutcome, StorageError> {
    const at = this.#deps.clock.now();
    return this.#record(
      send,
      (repositories) => repositories.outbox.markFailed(send.id, send.lease, failure, at),
      'failed',
      failure,
    );
  }

  #record(
    send: ClaimedSend,
    write: (repositories: TenantRepositories) => ResultAsync<boolean, StorageError>,
    outcome: SendOutcome,
    failure: OutboxFailure,
  ): ResultAsync<SendOutcome, StorageError> {
    return this.#deps.unitOfWork.run(send.tenantId, write).map((owned) => {
      const final = owned ? outcome : 'lease_lost';
      this.#deps.metrics.increment('outbound_messages_total', {
        status: final,
        type: send.message.type,
        code: failure.code === undefined ? failure.reason : String(failure.code),
      });
      return final;
    });
  }
}

const capOf = (policy: SendPolicy) => ({ baseMs: policy.backoffBaseMs, capMs: policy.backoffCapMs });

const failureOf = (
  reason: string,
  error: {
    readonly code?: number | undefined;
    readonly title?: string | undefined;
    readonly details?: string | undefined;
  },
): OutboxFailure => ({
  reason,
  ...(error.code === undefined ? {} : { code: error.code }),
  ...(error.title === undefined ? {} : { title: error.title }),
  ...(error.details === undefined ? {} : { details: error.details }),
});
