import type { ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

/** The queues whose rows a process holds under a lease. */
export type LeasedQueue = 'inbox' | 'outbox' | 'reminders';

export type LeaseRenewalRequest = {
  readonly queue: LeasedQueue;
  readonly owner: string;
  readonly ids: readonly string[];
  readonly leaseMs: number;
  /** On the clock leases are placed by (the database's). */
  readonly now: Date;
};

/**
 * The heartbeat of a process's leases: short leases, kept while the work is under way, so a process that
 * dies hands its work on within seconds. A renewed lease still settles with the lease first handed out
 * (same owner, an expiry at or after the one handed out).
 */
export interface LeaseRenewal {
  /**
   * Moves to `now + leaseMs` (never earlier) the expiry of every row of `ids` that `owner` still holds
   * with a lease not yet run out and whose work is unfinished, in one statement. Returns the ids still
   * held: those renewed, and those another statement is changing at that moment (their own settling, under
   * way), which it does not wait for and leaves to the next renewal. Any other (lost, finished, unknown)
   * is left alone.
   */
  renew(request: LeaseRenewalRequest): ResultAsync<readonly string[], StorageError>;
}
