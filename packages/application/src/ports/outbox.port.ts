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
import type { StoredToken } from './number-store.port.ts';

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
  /**
   * Unique per tenant: enqueueing the same key twice stores one message. Absent for a reply: the unit of
   * work that queues an entry's replies is the one that completes the entry, once (its lease and the
   * completion commit together), so a key would be checked for nothing, at an index entry a reply.
   */
  readonly idempotencyKey?: string;
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
  /** The first moment its portfolio's messaging limit held it (it stays set once released). */
  readonly limitHeldAt?: Date;
};

/** A claimed message and the moment it may go out without breaking its number's rate. */
export type ClaimedSend = OutboxEntry & {
  readonly lease: Lease;
  readonly sendAt: Date;
  /** How much later than its slot's tolerance it may still leave (`idleSlotAllowanceMs`, or 0). */
  readonly slotAllowanceMs: number;
  /**
   * How often an earlier claim's slot passed before the message could leave. After `maxSlotMisses` it
   * goes when it can, so a worker that is late for everything still sends.
   */
  readonly slotMisses: number;
  /** The number's access token as stored when the send was claimed: no read per send. */
  readonly token: StoredToken;
};

/** The scoped tenant's outbound queue; what becomes of each send is recorded across tenants (`OutboxQueue.record`). */
export interface OutboxStore {
  enqueue(
    entries: readonly NewOutboxEntry[],
  ): ResultAsync<{ readonly enqueued: readonly string[]; readonly duplicates: number }, StorageError>;
  /**
   * A queued message, sent or failed ones until retention prunes them; undefined for another tenant's, and
   * for one sent with no idempotency key and no fallback (a reply), which leaves the queue when it is sent:
   * nothing asks for it again, and the message log keeps what stays of it.
   */
  get(id: string): ResultAsync<OutboxEntry | undefined, StorageError>;
  /**
   * How many more new recipients the number's portfolio may reach with business-initiated messages before
   * one to `recipient` would be held, counting those held already; undefined when it would not be held at
   * all (no limit known, or the portfolio reached the recipient within the window).
   */
  messagingLimitRoom(
    phoneNumberId: PhoneNumberId,
    recipient: Recipient,
    now: Date,
  ): ResultAsync<number | undefined, StorageError>;
  /**
   * Gives messages this unit of work queued their send slots in it, as `OutboxQueue.lease` does after a
   * commit: leased to `owner` with slots from `now` on, those whose number's pace allows within the
   * horizon; the rest wait for a claim. Another tenant's ids are ignored. Rolled back with the unit of work.
   */
  lease(request: OutboxLeaseRequest): ResultAsync<readonly ClaimedSend[], StorageError>;
}

/** What became of one claimed send, to record while its lease holds. */
export type SendRecord = {
  readonly id: string;
  readonly lease: Lease;
} /** Graph accepted it (with the wamid it gave, absent for mark-as-read). */ & (
  | { readonly kind: 'sent'; readonly wamid?: Wamid; readonly at: Date }
  /** Due again at `retryAt`; the attempt counts. */
  | { readonly kind: 'retry'; readonly retryAt: Date; readonly failure: OutboxFailure }
  | { readonly kind: 'failed'; readonly at: Date; readonly failure: OutboxFailure }
  /** Its slot passed before it could leave: due again at once for a new slot, no attempt counted. */
  | { readonly kind: 'requeue' }
  /** The 24-hour window had closed: its template fallback takes its place, due at `at`, no attempt counted. */
  | { readonly kind: 'fallback'; readonly at: Date }
  /** Meta's pair rate limit: the recipient, and this message, wait until `retryAt`. */
  | { readonly kind: 'hold'; readonly retryAt: Date; readonly failure: OutboxFailure }
  /**
   * Graph refused the token: the number is flagged (sends stop until a new token), unless its token was
   * replaced since the one `token` names; the message waits until `retryAt`.
   */
  | {
      readonly kind: 'token_invalid';
      readonly at: Date;
      readonly retryAt: Date;
      readonly errorCode: number;
      readonly token: StoredToken;
      readonly failure: OutboxFailure;
    }
);

export type OutboxClaimRequest = {
  readonly owner: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: Date;
  /** Claim only messages whose send slot falls within this long from now. */
  readonly horizonMs: number;
};

export type OutboxLeaseRequest = Omit<OutboxClaimRequest, 'limit'> & { readonly ids: readonly string[] };

/**
 * The worker's narrow cross-tenant view of the outbox. A claim hands out due messages with send slots
 * spaced so that no number ever exceeds its rate in any one-second window, whichever process claims;
 * takes at most one message per recipient at a time (so they arrive in order); skips numbers whose token
 * is flagged invalid and recipients on hold; and serves every number with work, so one tenant's backlog
 * never starves another's.
 *
 * Business-initiated messages (templates) stay within Meta's messaging limits: one to a recipient its
 * portfolio has not reached in the moving 24 hours spends one of the portfolio's limit, and one past the
 * limit is held (not due) until the earliest reach expires, or the limit is raised, when it competes with
 * whatever else is due by priority. A number whose quality is low or flagged sends them at a share of its
 * rate (`businessPaceShare`): at most one per that slower spacing.
 */
export interface OutboxQueue {
  claim(request: OutboxClaimRequest): ResultAsync<readonly ClaimedSend[], StorageError>;
  /**
   * Send slots for these messages (just queued), by the claim's rules, without a claim's search: each
   * is leased if it is due, first in its recipient's queue with nothing of theirs in flight, its recipient
   * not on hold, its number's token not flagged and its number not being claimed elsewhere right now, and
   * its slot within the horizon. The others are left for a claim.
   */
  lease(request: OutboxLeaseRequest): ResultAsync<readonly ClaimedSend[], StorageError>;
  /** Records what became of sends, each only while its lease holds; whether each was recorded, in order. */
  record(records: readonly SendRecord[]): ResultAsync<readonly boolean[], StorageError>;
  depth(now: Date): ResultAsync<QueueDepth, StorageError>;
}
