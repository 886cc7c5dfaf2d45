import { defined, okAsync, ResultAsync, templatePausedCode, throughputExceededCode } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { TemplateStop } from '../loans/loan-stores.port.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { ClaimedSend, OutboxFailure, SendRecord } from '../ports/outbox.port.ts';
import type { SendReply, SendReplyError } from '../send-reply/send-reply.ts';
import { pairRateHoldMs, retryDelayMs } from './backoff.ts';
import { answerDeadline, outcomeGraceMs, sendDeadline } from './send-pacing.ts';

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
  /**
   * A message still unsent this long after it was queued is dropped as stale, unless it waits for a
   * rotated token: those go out once it is rotated, however long that takes, as the README promises.
   */
  readonly maxAgeMs: number;
  /** How long a number whose token Graph rejected waits before its queue is looked at again. */
  readonly tokenInvalidPauseMs: number;
  /**
   * How long a message Meta refused for the number's spam rate limit (131048) waits: Meta advises no fast
   * retry, as the number's earlier messages were blocked or reported.
   */
  readonly spamLimitPauseMs: number;
};

export const defaultSendPolicy: SendPolicy = {
  maxAttempts: 8,
  backoffBaseMs: 1000,
  backoffCapMs: 5 * 60 * 1000,
  maxAgeMs: 24 * 60 * 60 * 1000,
  tokenInvalidPauseMs: 60 * 1000,
  spamLimitPauseMs: 4 * 60 * 60 * 1000,
};

/**
 * Where what became of a send is recorded, while its lease holds: `OutboxQueue.record`, which the runtime
 * puts behind a group commit (many sends per statement) that retries a failed write. False when the lease
 * was lost.
 */
export type SendRecorder = {
  record(record: SendRecord): ResultAsync<boolean, StorageError>;
};

/** Where a template Meta paused or disabled stops being used, in its tenant: the next notice goes without it. */
export type TemplateStops = {
  stop(
    tenantId: ClaimedSend['tenantId'],
    template: { readonly name: string; readonly language: string },
    stop: TemplateStop,
  ): ResultAsync<unknown, StorageError>;
};

export type SendQueuedMessageDependencies = {
  readonly records: SendRecorder;
  readonly templates: TemplateStops;
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
    if (isStale(send, clock.now(), this.#policy)) return this.#fail(send, { reason: 'expired' });
    const answered = sendReply.execute({
      tenantId: send.tenantId,
      phoneNumberId: send.phoneNumberId,
      message: send.message,
      callbackData: send.id,
      notBefore: send.sendAt,
      deadline: sendDeadline(send),
      answerBy: answerDeadline(send),
      token: send.token,
      ...defined({ recipient: send.recipient }),
      ...defined({ replyTo: send.replyTo }),
    });
    // Once Graph accepted the message, only its acceptance is ever recorded: a failure to record it is not
    // a failure of the send, which must never be queued again.
    return new ResultAsync(
      Promise.resolve(answered).then((result) =>
        result.isOk() ? this.#recordSent(send, result.value.wamid) : this.#handleFailure(send, result.error),
      ),
    );
  }

  #recordSent(send: ClaimedSend, wamid: ClaimedSend['wamid']): ResultAsync<SendOutcome, StorageError> {
    const { clock, metrics, logger } = this.#deps;
    const at = clock.now();
    return this.#deps.records
      .record({ kind: 'sent', id: send.id, lease: send.lease, at, ...defined({ wamid }) })
      .map((owned) => {
        const outcome: SendOutcome = owned ? 'sent' : 'lease_lost';
        metrics.increment('outbound_messages_total', {
          status: outcome === 'sent' ? 'accepted' : outcome,
          type: send.message.type,
        });
        metrics.observe('outbox_send_lag_seconds', (at.getTime() - send.notBefore.getTime()) / 1000);
        if (owned && send.limitHeldAt !== undefined) metrics.increment('messaging_limit_released_total');
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
    const { id, lease } = send;
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
      case 'send_retryable': {
        const delayMs = retryDelayMs(send.attempts, random, {
          ...capOf(policy),
          retryAfterMs: error.retryAfterMs,
        });
        // Meta may have sent it: give its status webhook the grace to prove so (and mark it sent) first.
        return this.#retry(
          send,
          now,
          failureOf('retryable', error),
          error.outcomeUnknown === true ? Math.max(delayMs, outcomeGraceMs) : delayMs,
          // The number's throughput is its pace, not this message's fault: it waits, and is never given up.
          error.code !== throughputExceededCode,
        );
      }
      case 'send_pair_rate_limited': {
        const holdMs = Math.max(pairRateHoldMs(send.attempts), error.retryAfterMs ?? 0);
        const failure = failureOf('pair_rate_limited', error);
        return this.#record(
          send,
          { kind: 'hold', id, lease, retryAt: new Date(now.getTime() + holdMs), failure },
          'recipient_held',
          failure,
        );
      }
      case 'send_token_invalid':
      case 'send_number_blocked': {
        logger.error(
          { ...fields, code: error.code },
          error.type === 'send_token_invalid'
            ? `Graph rejected the access token of number ${send.phoneNumberId} (code ${error.code}); its messages wait until the token is rotated`
            : `Meta blocked number ${send.phoneNumberId} (code ${error.code}: ${error.title ?? 'policy block'}); its messages wait: resolve it in WhatsApp Manager, then set the number's token again`,
        );
        // Either way nothing more may go on the number until the operator acts: its sends stop as for a
        // rejected token, which setting the token again lifts.
        const failure = failureOf(
          error.type === 'send_token_invalid' ? 'token_invalid' : 'number_blocked',
          error,
        );
        return this.#record(
          send,
          {
            kind: 'token_invalid',
            id,
            lease,
            at: now,
            retryAt: new Date(now.getTime() + policy.tokenInvalidPauseMs),
            errorCode: error.code,
            token: send.token,
            failure,
          },
          'token_invalid',
          failure,
        );
      }
      case 'send_window_closed':
        if (send.fallback !== undefined) {
          return this.#record(
            send,
            { kind: 'fallback', id, lease, at: now },
            'switched_to_template',
            failureOf('window_closed', error),
          );
        }
        return this.#fail(send, failureOf('window_closed', error));
      case 'send_slot_missed':
        return this.#record(send, { kind: 'requeue', id, lease }, 'slot_missed', { reason: 'slot_missed' });
      case 'send_spam_limited':
        logger.warn(
          { ...fields, code: error.code },
          `Meta's spam rate limit refused a message of number ${send.phoneNumberId}: it waits ${policy.spamLimitPauseMs / 3_600_000} h; review the number's quality`,
        );
        return this.#retry(send, now, failureOf('spam_limited', error), policy.spamLimitPauseMs);
      case 'send_marketing_limited':
        logger.warn({ ...fields, code: error.code }, 'the recipient reached their marketing message limit');
        return this.#fail(send, failureOf('marketing_limited', error));
      case 'send_template_stopped':
        return this.#fail(send, failureOf('template_stopped', error)).andThen((outcome) =>
          this.#stopTemplate(send, error.code).map(() => outcome),
        );
      case 'send_rejected':
        logger.warn(
          { ...fields, code: error.code, title: error.title, details: error.details },
          'Graph refused the message',
        );
        return this.#fail(send, failureOf('rejected', error));
    }
  }

  /** Best effort: the message's outcome is recorded already, and the next send of the template stops it again. */
  #stopTemplate(send: ClaimedSend, code: number): ResultAsync<void, never> {
    const { message, tenantId } = send;
    if (message.type !== 'template') return okAsync(undefined);
    const { name, language } = message;
    const status = code === templatePausedCode ? 'paused' : 'disabled';
    const fields = { tenantId, template: name, language, code };
    return this.#deps.templates
      .stop(
        tenantId,
        { name, language },
        { status, reason: `${status.toUpperCase()}: Graph refused a send (${code})` },
      )
      .map(() =>
        this.#deps.logger.warn(fields, `template ${name} (${language}) is ${status}: it is no longer used`),
      )
      .orElse((error) => {
        this.#deps.logger.error({ ...fields, error: error.message }, `template ${name} could not be stopped`);
        return okAsync(undefined);
      });
  }

  #retry(
    send: ClaimedSend,
    now: Date,
    failure: OutboxFailure,
    delayMs: number,
    exhaustible = true,
  ): ResultAsync<SendOutcome, StorageError> {
    if (exhaustible && send.attempts + 1 >= this.#policy.maxAttempts)
      return this.#fail(send, { ...failure, reason: `${failure.reason}_retries_exhausted` });
    return this.#record(
      send,
      { kind: 'retry', id: send.id, lease: send.lease, retryAt: new Date(now.getTime() + delayMs), failure },
      'retry_scheduled',
      failure,
    );
  }

  #fail(send: ClaimedSend, failure: OutboxFailure): ResultAsync<SendOutcome, StorageError> {
    const at = this.#deps.clock.now();
    return this.#record(
      send,
      { kind: 'failed', id: send.id, lease: send.lease, at, failure },
      'failed',
      failure,
    );
  }

  #record(
    send: ClaimedSend,
    record: SendRecord,
    outcome: SendOutcome,
    failure: OutboxFailure,
  ): ResultAsync<SendOutcome, StorageError> {
    return this.#deps.records.record(record).map((owned) => {
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

/**
 * Messages that wait for the operator (a rejected token, a blocked number: they go once it is set again)
 * or for the messaging limit (they go as the window moves, in priority order) are never stale: the README
 * promises they go, however long that takes.
 */
const waitsOnPurpose = (send: ClaimedSend): boolean =>
  send.limitHeldAt !== undefined ||
  send.lastFailure?.reason === 'token_invalid' ||
  send.lastFailure?.reason === 'number_blocked';

const isStale = (send: ClaimedSend, now: Date, policy: SendPolicy): boolean =>
  !waitsOnPurpose(send) && now.getTime() - send.createdAt.getTime() > policy.maxAgeMs;

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
  ...defined({ code: error.code }),
  ...defined({ title: error.title }),
  ...defined({ details: error.details }),
});
