import type {
  ContactId,
  OutboundMessage,
  PhoneNumberId,
  Recipient,
  ResultAsync,
  TenantId,
  Wamid,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Lease, QueueDepth } from './inbox.port.ts';

/** Why a message is being sent; statuses of the message link back to it. */
export type OutboxOrigin =
  | { readonly kind: 'reply'; readonly inboxId: string }
  | { readonly kind: 'reminder'; readonly reminderId: string }
  | { readonly kind: 'notification'; readonly agreementId?: string };

export type NewOutboxEntry = {
  readonly id: string;
  readonly phoneNumberId: PhoneNumberId;
  /** Absent only for messages that address a message rather than a person (mark-as-read). */
  readonly recipient?: Recipient;
  readonly contactId?: ContactId;
  readonly message: OutboundMessage;
  /**
   * The approved template to send instead if Meta says the 24-hour window is closed (131047), at once
   * or in a later `failed` status.
   */
  readonly fallback?: OutboundMessage;
  readonly replyTo?: Wamid;
  readonly origin: OutboxOrigin;
  /** Unique per tenant: enqueueing the same key twice stores one message. */
  readonly idempotencyKey: string;
  /** Higher goes first within a number (replies before bulk reminders). */
  readonly priority: number;
  readonly notBefore: Date;
  readonly createdAt: Date;
};

export type OutboxStatus = 'pending' | 'sent' | 'failed';

export type OutboxFailure = {
  /** Our reason (`no_access_token`, `token_invalid`, `window_closed`, `rejected`, `expired`, …). */
  readonly reason: string;
  readonly code?: number;
  readonly title?: string;
  readonly details?: string;
};

export type OutboxEntry = NewOutboxEntry & {
  readonly tenantId: TenantId;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly wamid?: Wamid;
  readonly lastFailure?: OutboxFailure;
};

/** A claimed message and the moment it may go out without breaking its number's rate. */
export type ClaimedSend = OutboxEntry & {
  readonly lease: Lease;
  readonly sendAt: Date;
  /**
   * How often an earlier claim's slot passed before the message could leave. After `maxSlotMisses` it
   * goes when it can, so a worker that is late for everything still sends.
   */
  readonly slotMisses: number;
};

/** The scoped tenant's outbound queue. */
export interface OutboxStore {
  enqueue(
    entries: readonly NewOutboxEntry[],
  ): ResultAsync<{ readonly enqueued: readonly string[]; readonly duplicates: number }, StorageError>;
  get(id: string): ResultAsync<OutboxEntry | undefined, StorageError>;
  /** Records Graph's acceptance. False when the lease was lost (another worker owns the message now). */
  markSent(id: string, lease: Lease, wamid: Wamid | undefined, at: Date): ResultAsync<boolean, StorageError>;
  markFailed(id: string, lease: Lease, failure: OutboxFailure, at: Date): ResultAsync<boolean, StorageError>;
  /** Puts the message back in the queue for `retryAt`, counting the attempt. */
  retryLater(
    id: string,
    lease: Lease,
    retryAt: Date,
    failure: OutboxFailure,
  ): ResultAsync<boolean, StorageError>;
  /**
   * Gives the message back to the queue without counting an attempt, counting it in `slotMisses`: its send slot
   * passed before it could leave, and a later claim gives it a new one. False when the lease was lost.
   */
  requeue(id: string, lease: Lease): ResultAsync<boolean, StorageError>;
  /** Replaces the message with its template fallback and queues it again at once; false without a fallback or lease. */
  switchToFallback(id: string, lease: Lease, at: Date): ResultAsync<boolean, StorageError>;
  /** Holds every queued message to one recipient of a number until `until` (Meta's pair rate limit). */
  holdRecipient(
    phoneNumberId: PhoneNumberId,
    recipient: Recipient,
    until: Date,
  ): ResultAsync<void, StorageError>;
}

export type OutboxClaimRequest = {
  readonly owner: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: Date;
  /** Claim only messages whose send slot falls within this long from now. */
  readonly horizonMs: number;
};

/**
 * The worker's narrow cross-tenant view of the outbox. A claim hands out due messages with send slots
 * spaced so that no number ever exceeds its rate in any one-second window, whichever process claims;
 * takes at most one message per recipient at a time (so they arrive in order); skips numbers whose token
 * is flagged invalid and recipients on hold; and serves every number with work, so one tenant's backlog
 * never starves another's.
 */
export interface OutboxQueue {
  claim(request: OutboxClaimRequest): ResultAsync<readonly ClaimedSend[], StorageError>;
  depth(now: Date): ResultAsync<QueueDepth, StorageError>;
}
