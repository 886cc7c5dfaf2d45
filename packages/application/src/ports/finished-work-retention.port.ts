import type { ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

/**
 * The shortest retention there may be. Meta redelivers a webhook for up to 7 days, and a stored inbox
 * entry is what recognises the redelivery (its number and delivery key): pruned sooner, an old message
 * would be answered a second time.
 */
export const minimumRetentionDays = 7;

/** How many finished rows one prune removed from each queue. */
export type PrunedRows = { readonly inbox: number; readonly outbox: number };

/**
 * The maintenance job's cross-tenant view of finished queue rows: inbox entries processed or abandoned,
 * outbox messages sent or failed. Unfinished rows are never touched. Loans, contacts and the message log
 * are not queue rows and are kept.
 */
export interface FinishedWorkRetention {
  /**
   * Deletes, in every tenant, up to `limit` inbox entries and up to `limit` outbox messages that finished
   * before `before`, oldest first: by when they finished, or by when they were made where their id is a
   * UUIDv7, which says so. A reminder whose message is deleted stays, without its outbox id.
   * `before` must be at least `minimumRetentionDays` ago. Call again while a count reaches `limit`.
   */
  pruneFinished(before: Date, limit: number): ResultAsync<PrunedRows, StorageError>;
}
