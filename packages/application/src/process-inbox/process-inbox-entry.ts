import {
  type ContactId,
  e164FromWaId,
  err,
  type InboundMessage,
  type InboundStatus,
  ok,
  okAsync,
  type ResultAsync,
  recipientOf,
  safeTry,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { HandleInbound } from '../handle-inbound/handle-inbound.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { ContactIdentity } from '../ports/contact-store.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { ClaimedInboxEntry } from '../ports/inbox.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { StatusChange, StatusOutcome } from '../ports/message-log.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { NewOutboxEntry } from '../ports/outbox.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';

export type ProcessOutcome =
  | { readonly type: 'processed'; readonly enqueued: readonly string[] }
  /** The status names a message we have not recorded yet (its send is still being committed): try again soon. */
  | { readonly type: 'retry_later' }
  /** Another worker took the entry over; everything this attempt wrote was rolled back. */
  | { readonly type: 'lease_lost' };

/** Reacts to a delivery status once it is stored (links reminders, switches to a template on 131047, …). */
export interface StatusListener {
  onStatus(
    change: StatusChange,
    outcome: StatusOutcome,
    repositories: TenantRepositories,
  ): ResultAsync<void, StorageError>;
}

export type ProcessInboxEntryDependencies = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly handleInbound: HandleInbound;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly statusListeners?: readonly StatusListener[];
  /** How often a status for an unknown wamid is looked at again before it is given up (logged). */
  readonly unknownStatusAttempts?: number;
};

/** Replies go before bulk messages in their number's queue. */
export const replyPriority = 10;

type LeaseLost = { readonly type: 'lease_lost_rollback' };

/**
 * Processes one claimed inbox entry in one transaction: the sender becomes a contact, the message is
 * logged (it opens the 24-hour window), the bot's replies are queued, and the entry is marked done, all
 * or nothing. If the lease was lost meanwhile, everything rolls back, so a message is never answered twice.
 */
export class ProcessInboxEntry {
  readonly #deps: ProcessInboxEntryDependencies;

  constructor(dependencies: ProcessInboxEntryDependencies) {
    this.#deps = dependencies;
  }

  execute(entry: ClaimedInboxEntry): ResultAsync<ProcessOutcome, StorageError> {
    const item = entry.item;
    const work =
      item.kind === 'message'
        ? (repositories: TenantRepositories) => this.#processMessage(entry, item, repositories)
        : (repositories: TenantRepositories) => this.#processStatus(entry, item, repositories);
    return this.#deps.unitOfWork
      .run(entry.tenantId, work)
      .orElse((error) =>
        error.type === 'lease_lost_rollback' ? okAsync({ type: 'lease_lost' as const }) : err(error),
      );
  }

  #processMessage(
    entry: ClaimedInboxEntry,
    message: InboundMessage,
    repositories: TenantRepositories,
  ): ResultAsync<ProcessOutcome, StorageError | LeaseLost> {
    const deps = this.#deps;
    const now = deps.clock.now();
    const log = deps.logger.child({
      tenantId: entry.tenantId,
      phoneNumberId: message.phoneNumberId,
      wamid: message.wamid,
    });
    return safeTry(async function* () {
      const tenant = yield* repositories.tenant.current();
      const number = yield* repositories.numbers.get(message.phoneNumberId);
      const identity = identityOf(message);
      if (tenant === undefined || number === undefined || identity === undefined) {
        log.warn(
          { content: message.content.type },
          'inbound message dropped: its number or sender can no longer be resolved',
        );
        return ok(yield* completed(entry, repositories, now, []));
      }
      const { contact, created } = yield* repositories.contacts.upsert(
        identity,
        deps.ids.uuid() as ContactId,
      );
      yield* repositories.messages.recordInbound({
        wamid: message.wamid,
        phoneNumberId: message.phoneNumberId,
        contactId: contact.id,
        type: message.content.type,
        sentAt: message.sentAt,
      });
      deps.metrics.increment('inbound_messages_total', { type: message.content.type });
      const outcome = yield* deps.handleInbound.execute(
        { tenant, number, contact, firstContact: created, message, now },
        repositories,
      );
      const recipient = recipientOf(contact);
      const replies: NewOutboxEntry[] =
        recipient === undefined
          ? []
          : outcome.replies.map((reply, index) => ({
              id: deps.ids.uuid(),
              phoneNumberId: message.phoneNumberId,
              recipient,
              contactId: contact.id,
              message: reply,
              origin: { kind: 'reply', inboxId: entry.id },
              idempotencyKey: `reply:${entry.id}:${index}`,
              priority: replyPriority,
              notBefore: now,
              createdAt: now,
            }));
      const { enqueued } = yield* repositories.outbox.enqueue(replies);
      log.info(
        { contactId: contact.id, content: message.content.type, replies: enqueued.length },
        'inbound message processed',
      );
      return ok(yield* completed(entry, repositories, now, enqueued));
    });
  }

  #processStatus(
    entry: ClaimedInboxEntry,
    status: InboundStatus,
    repositories: TenantRepositories,
  ): ResultAsync<ProcessOutcome, StorageError | LeaseLost> {
    const deps = this.#deps;
    const now = deps.clock.now();
    const log = deps.logger.child({
      tenantId: entry.tenantId,
      phoneNumberId: status.phoneNumberId,
      wamid: status.wamid,
    });
    const maxAttempts = deps.unknownStatusAttempts ?? 6;
    return safeTry(async function* () {
      const change: StatusChange = {
        wamid: status.wamid,
        status: status.status,
        at: status.at,
        errors: status.errors,
      };
      const outcome = yield* repositories.messages.applyStatus(change);
      if (outcome === undefined) {
        if (entry.attempts < maxAttempts) {
          const retryAt = new Date(now.getTime() + 1000 * 2 ** entry.attempts);
          const owned = yield* repositories.inbox.release(
            entry.id,
            entry.lease,
            retryAt,
            'status for a message not recorded yet',
          );
          return owned ? ok({ type: 'retry_later' as const }) : err({ type: 'lease_lost_rollback' as const });
        }
        log.warn({ status: status.status }, 'status for a message we never sent from this tenant; ignored');
        return ok(yield* completed(entry, repositories, now, []));
      }
      const firstError = status.errors[0];
      deps.metrics.increment('delivery_statuses_total', {
        status: status.status,
        ...(firstError === undefined ? {} : { code: String(firstError.code) }),
      });
      if (status.status === 'failed') {
        log.warn(
          { outboxId: outcome.outboxId, code: firstError?.code, title: firstError?.title },
          'message delivery failed',
        );
      }
      for (const listener of deps.statusListeners ?? [])
        yield* listener.onStatus(change, outcome, repositories);
      return ok(yield* completed(entry, repositories, now, []));
    });
  }
}

const completed = (
  entry: ClaimedInboxEntry,
  repositories: TenantRepositories,
  now: Date,
  enqueued: readonly string[],
): ResultAsync<ProcessOutcome, StorageError | LeaseLost> =>
  repositories.inbox
    .complete(entry.id, entry.lease, now)
    .andThen((owned) =>
      owned ? ok({ type: 'processed' as const, enqueued }) : err({ type: 'lease_lost_rollback' as const }),
    );

const identityOf = (message: InboundMessage): ContactIdentity | undefined => {
  const phone =
    message.from.waId === undefined ? undefined : e164FromWaId(message.from.waId).unwrapOr(undefined);
  const { userId, profileName } = message.from;
  if (phone === undefined && userId === undefined) return undefined;
  return {
    ...(phone === undefined ? {} : { phone }),
    ...(userId === undefined ? {} : { userId }),
    ...(profileName === undefined ? {} : { name: profileName }),
  };
};
