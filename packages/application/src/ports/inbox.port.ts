import type {
  DeliveryStatus,
  InboundMessage,
  InboundStatus,
  PhoneNumberId,
  ResultAsync,
  TenantId,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { StatusOutcome } from './message-log.port.ts';
import type { OutboxOrigin, SendRecord } from './outbox.port.ts';
import type { TenantSection } from './unit-of-work.port.ts';

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

/** An entry and the lease it is held under. */
export type HeldEntry = { readonly id: string; readonly lease: Lease };

/** The scoped tenant's inbound inbox: entries are stored across tenants (`InboxQueue.store`) and finished here. */
export interface InboxStore {
  /** Marks the entries done; false when the lease of any was lost (the unit of work must then roll back). */
  complete(entries: readonly HeldEntry[], at: Date): ResultAsync<boolean, StorageError>;
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

export type QueueDepth = {
  /** Entries due now. */
  readonly pending: number;
  readonly oldestAt?: Date;
  /** Outbox messages the messaging limit holds (not due until there is room). */
  readonly held?: number;
};

export type StoreInboxRequest = {
  /** Entries of any tenants: each is stored under the tenant its number belongs to. */
  readonly entries: readonly NewInboxEntry[];
  readonly now: Date;
  /**
   * A delivery status is applied to its message at once (as `applyStatuses` does) and stored only if it
   * must be looked at again: its message is unknown yet, or these follow-ups want it.
   */
  readonly followUps: StatusFollowUps;
  /**
   * Lease the new entries to this owner, to process them without a claim: each unless another unprocessed
   * entry of its sender is not the owner's (the claim then hands that sender's entries out in order).
   * Absent: every new entry waits for a claim.
   */
  readonly lease?: { readonly owner: string; readonly leaseMs: number };
};

/** `storeAndProcess`'s request: `store`'s, and the entries its `process` is to answer. */
export type StoreAndProcessRequest = StoreInboxRequest & {
  /**
   * The entries `process` is to answer: each stored held (leased to `lease.owner`) is written done at once,
   * which spares its row the second version, and its indexes the second entries, that completing it would
   * write. It is still handed to `process` with its lease; those `process` does not report answered are put
   * back, pending under that lease, before the commit. Should that fail, the write fails.
   */
  readonly answering?: readonly string[];
};

/** What `storeAndProcess`'s `process` did: its result, and which entries of `answering` it answered. */
export type ProcessedWhileStored<T> = { readonly result: T; readonly answered: readonly string[] };

/**
 * The entries `storeAndProcess` wrote done (held, and named in `answering`) that `process` did not answer:
 * they are put back under the lease they were stored with, and with their item, which an entry written done
 * is stored without.
 */
export const unansweredOf = (
  stored: readonly StoredInboxEntry[],
  answering: readonly string[] | undefined,
  answered: readonly string[],
): readonly ClaimedInboxEntry[] => {
  if (answering === undefined || answering.length === 0) return [];
  const writtenDone = new Set(answering);
  for (const id of answered) writtenDone.delete(id);
  return stored.flatMap((result) =>
    result.outcome === 'stored' && 'lease' in result.entry && writtenDone.has(result.entry.id)
      ? [result.entry]
      : [],
  );
};

/** What became of one entry given to `store`. */
export type StoredInboxEntry =
  | { readonly outcome: 'stored'; readonly entry: InboxEntry | ClaimedInboxEntry }
  /** A delivery status applied to its message at once: nothing left to do, nothing stored. */
  | { readonly outcome: 'applied' }
  /** Its (number, delivery key) was stored before: a redelivery. */
  | { readonly outcome: 'duplicate' }
  /** No tenant has its number (it was removed after routing). */
  | { readonly outcome: 'unrouted' };

/** What `storeAndProcess` stored, what its `process` answered, and what became of the sends it recorded. */
export type StoredAndProcessed<T> = {
  readonly stored: readonly StoredInboxEntry[];
  readonly processed: T;
  /** One answer per send record, as `OutboxQueue.record` gives them; absent if recording them failed. */
  readonly recorded?: readonly boolean[];
};

/** An inbox entry holding a delivery status, under lease. */
export type ClaimedStatusEntry = ClaimedInboxEntry & { readonly item: InboundStatus };

/** Statuses whose message needs more than the status itself: the status listeners' interests. */
export type StatusFollowUps = {
  readonly origins: readonly OutboxOrigin['kind'][];
  readonly statuses: readonly DeliveryStatus[];
};

export type ApplyStatusesRequest = {
  readonly entries: readonly ClaimedStatusEntry[];
  readonly now: Date;
  readonly followUps: StatusFollowUps;
};

/** What became of one status entry given to `applyStatuses`. */
export type AppliedStatus = {
  readonly entryId: string;
} /** Applied and done (`completed`), or applied with its entry left for a follow-up and completion. */ & (
  | { readonly result: 'completed' | 'follow_up'; readonly message: StatusOutcome }
  /** No outbound message of the entry's tenant has this wamid (yet): nothing changed, the entry is still held. */
  | { readonly result: 'unknown' }
  /** The entry's lease was lost: nothing was applied for it. */
  | { readonly result: 'lease_lost' }
);

/**
 * The inbox across tenants: storing webhook items before the 200, claiming due entries of any tenant,
 * and applying delivery statuses in batches.
 */
export interface InboxQueue {
  /**
   * Stores entries of any tenants at once, applying delivery statuses that need nothing more; one result
   * per entry, in order. Applying a status again changes nothing, so a redelivered status needs no stored
   * key to be recognised. The pricing a status carries is recorded for `UsageLedger` in the same write.
   */
  store(request: StoreInboxRequest): ResultAsync<readonly StoredInboxEntry[], StorageError>;
  /**
   * `store`, then `process` on what was stored, in the same transaction, working as the entries' tenants
   * through `section`: what `process` did commits with the entries or not at all, and nothing is left of a
   * section that failed. The entries it is to answer are written done when stored (`answering`). Fails as
   * a whole as `store` does (a throw from `process` is a bug: nothing is stored, and it is rethrown).
   * `records` (`OutboxQueue.record`), what became of sends, are recorded in the same transaction before
   * `process`, so its sections see them; should that fail, nothing is left of it and `recorded` is
   * absent, but the rest goes on.
   */
  storeAndProcess<T>(
    request: StoreAndProcessRequest,
    process: (
      stored: readonly StoredInboxEntry[],
      section: TenantSection,
    ) => Promise<ProcessedWhileStored<T>>,
    records?: readonly SendRecord[],
  ): ResultAsync<StoredAndProcessed<T>, StorageError>;
  claim(request: InboxClaimRequest): ResultAsync<readonly ClaimedInboxEntry[], StorageError>;
  /**
   * Applies delivery statuses to their messages, each within its entry's tenant, only moving a message
   * forward (`sent < delivered < read`, `failed` final). A status for a wamid never recorded, whose
   * callback data names a pending outbox message of that tenant and number, first marks that message sent
   * (Graph accepted it; its answer was never recorded). Entries are completed unless unknown or wanted
   * for a follow-up. One result per entry, in order.
   */
  applyStatuses(request: ApplyStatusesRequest): ResultAsync<readonly AppliedStatus[], StorageError>;
  depth(now: Date): ResultAsync<QueueDepth, StorageError>;
}
