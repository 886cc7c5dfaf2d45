import type { ClaimedInboxEntry } from '../ports/inbox.port.ts';
import type { ClaimedSend } from '../ports/outbox.port.ts';

/** What became of one entry handed to `ProcessInbox`. */
export type EntryOutcome = {
  readonly entry: ClaimedInboxEntry;
} /** Done: a message answered (its replies queued), or a status applied. */ & (
  | {
      readonly type: 'processed';
      readonly enqueued: readonly string[];
      /** Those of its replies given their send slots in the same transaction (see `SendSlotTerms`). */
      readonly leased: readonly ClaimedSend[];
    }
  /** A status for a message not recorded yet: handed back to be looked at again later. */
  | { readonly type: 'retry_later' }
  /** Another worker took the entry over; nothing was done for it here. */
  | { readonly type: 'lease_lost' }
  /** Its processing failed; nothing of it was kept, and it is still held: hand it back. */
  | { readonly type: 'failed'; readonly reason: string }
  /** Not tried: an earlier entry of its sender failed. Still held: hand it back behind that one. */
  | { readonly type: 'deferred'; readonly reason: string }
);
