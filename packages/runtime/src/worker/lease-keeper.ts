import type { Clock, LeasedQueue, LeaseRenewal, Logger } from '@prestabot/application';
import { systemTimers, type Timers } from './wake-up.ts';

/**
 * How long the work of this process is leased for, in every queue. Short, because a process that dies
 * leaves its work to others only when its leases run out; the `LeaseKeeper` renews them while the work
 * is under way. A send's lease runs from its slot, and the send is bound to that first lease: it must
 * leave within half of it and Graph must answer it a quarter before it ends (4.5 s after the slot).
 * Measured (fault suite, `crashes`, full size): p99 reply delay 36 s with 30 s leases, 13.7 s with 8 s,
 * 7.2 s with 6 s (a killed worker's sends wait out their lease and the 5 s outcome grace).
 */
export const workLeaseMs = 6000;

/**
 * The longest the keeper renews one job's lease: beyond it, the job is taken as hung and its lease left to
 * run out, so another process takes the work over. Well above what any job takes under load (before
 * renewals, leases ran 30 s, and 60 s for reminders).
 */
export const maxLeaseHoldMs = 90_000;

export type LeaseKeeperOptions = {
  /** This process's name in leases. */
  readonly owner: string;
  /** How long each renewal extends a lease from now; renewals come a third of this apart. */
  readonly leaseMs: number;
  /** After this long held, a job's lease is no longer renewed. */
  readonly maxHoldMs: number;
};

export type LeaseKeeperDependencies = {
  readonly leaseRenewal: LeaseRenewal;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers?: Timers;
};

const queues: readonly LeasedQueue[] = ['inbox', 'outbox', 'reminders'];

/**
 * The heartbeat of the leases this process holds: every `leaseMs / 3` it renews all of them, one statement
 * per queue (never one per job), so a lease runs out only once its process is gone (or its job was held
 * past `maxHoldMs`). Jobs are held from when they are handed to a worker until they are settled. A lease
 * it could not renew (finished, or lost to another process) is let go. Its timer runs only while it holds
 * something.
 */
export class LeaseKeeper {
  readonly #deps: LeaseKeeperDependencies;
  readonly #options: LeaseKeeperOptions;
  readonly #timers: Timers;
  readonly #logger: Logger;
  /** Per queue: each held id and since when (ms). */
  readonly #held = new Map<LeasedQueue, Map<string, number>>(queues.map((queue) => [queue, new Map()]));
  #timer: unknown;
  #renewing = false;

  constructor(dependencies: LeaseKeeperDependencies, options: LeaseKeeperOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#timers = dependencies.timers ?? systemTimers;
    this.#logger = dependencies.logger.child({ component: 'lease-keeper', owner: options.owner });
  }

  /** Keeps renewing the leases of these rows (already leased to this process) until they are released. */
  hold(queue: LeasedQueue, ids: readonly string[]): void {
    if (ids.length === 0) return;
    const held = this.#held.get(queue)!;
    const now = this.#deps.clock.now().getTime();
    for (const id of ids) if (!held.has(id)) held.set(id, now);
    this.#schedule();
  }

  /** Their work is settled (or left to its lease): renew them no more. */
  release(queue: LeasedQueue, ids: readonly string[]): void {
    const held = this.#held.get(queue)!;
    for (const id of ids) held.delete(id);
  }

  #holdsAny(): boolean {
    return queues.some((queue) => this.#held.get(queue)!.size > 0);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#renewing) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#renewing = true;
      void this.#renew().finally(() => {
        this.#renewing = false;
        if (this.#holdsAny()) this.#schedule();
      });
    }, this.#options.leaseMs / 3);
  }

  async #renew(): Promise<void> {
    const { leaseRenewal, clock } = this.#deps;
    const { owner, leaseMs, maxHoldMs } = this.#options;
    await Promise.all(
      queues.map(async (queue) => {
        const held = this.#held.get(queue)!;
        const now = clock.now();
        const overdue = [...held].filter(([, since]) => now.getTime() - since >= maxHoldMs).map(([id]) => id);
        if (overdue.length > 0) {
          this.release(queue, overdue);
          this.#logger.warn(
            { queue, ids: overdue },
            `work held over ${maxHoldMs / 1000} s is taken as hung; its leases are left to run out`,
          );
        }
        const ids = [...held.keys()];
        if (ids.length === 0) return;
        const renewed = await leaseRenewal.renew({ queue, owner, ids, leaseMs, now });
        if (renewed.isErr()) {
          this.#logger.error(
            { queue, held: ids.length, error: renewed.error.reason },
            `cannot renew leases: ${renewed.error.message}; retrying`,
          );
          return;
        }
        const kept = new Set(renewed.value);
        // Not renewed: finished meanwhile (released soon anyway) or lost; either way, no lease to keep.
        this.release(
          queue,
          ids.filter((id) => !kept.has(id)),
        );
      }),
    );
  }
}
