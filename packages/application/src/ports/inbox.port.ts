import type { InboundMessage, InboundStatus, PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

export type InboxItem = InboundMessage | InboundStatus;

export type NewInboxEntry = {
  readonly id: string;
  readonly phoneNumberId: PhoneNumberId;
  /** Unique within the number: a message's wamid, or wamid and status for a status. */
  readonly deliveryKey: string;
  /**
   * Entries with the same key are processed one at a time, oldest first (a sender's messages), so a
   * conversation never sees its messages out of order. Statuses have none.
   */
  readonly orderingKey?: string;
  readonly item: InboxItem;
  readonly receivedAt: Date;
};

export type InboxEntry = NewInboxEntry & { readonly tenantId: TenantId; readonly attempts: number };

/** Who holds an entry and until when; work done under a lost lease is rolled back. */
export type Lease = { readonly owner: string; readonly until: Date };

export type ClaimedInboxEntry = InboxEntry & { readonly lease: Lease };

/** The scoped tenant's inbound inbox: every webhook item, written before Meta gets its 200. */
export interface InboxStore {
  /** Stores entries; an entry whose (number, delivery key) is already stored is a duplicate and skipped. */
  record(
    entries: readonly NewInboxEntry[],
  ): ResultAsync<{ readonly recorded: readonly string[]; readonly duplicates: number }, StorageError>;
  /** Marks the entry done if `lease` still holds it; false when the lease was lost to another worker. */
  complete(id: string, lease: Lease, at: Date): ResultAsync<boolean, StorageError>;
  /** Hands the entry back for another attempt at `retryAt`, noting why. */
  release(id: string, lease: Lease, retryAt: Date, error: string): ResultAsync<boolean, StorageError>;
  /** Gives up on an entry that kept failing; it stays stored, with the error, for an operator to inspect. */
  abandon(id: string, lease: Lease, at: Date, error: string): ResultAsync<boolean, StorageError>;
}

export type InboxClaimRequest = {
  readonly owner: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: Date;
  /** Only these entries (the ones a webhook just stored); all due entries when absent. */
  readonly ids?: readonly string[];
};

export type QueueDepth = { readonly pending: number; readonly oldestAt?: Date };

/** The worker's narrow cross-tenant view of the inbox: it claims due entries of any tenant. */
export interface InboxQueue {
  claim(request: InboxClaimRequest): ResultAsync<readonly ClaimedInboxEntry[], StorageError>;
  depth(now: Date): ResultAsync<QueueDepth, StorageError>;
}
