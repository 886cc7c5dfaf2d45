import type {
  ClaimedSend,
  Clock,
  Logger,
  Metrics,
  OutboxQueue,
  SendOutcome,
  SendSlotTerms,
  StorageError,
} from '@prestabot/application';
import { type PhoneNumberId, ResultAsync } from '@prestabot/domain';
import { AtMostEvery } from './at-most-every.ts';
import { GroupCommit } from './group-commit.ts';
import { type LeaseKeeper, workLeaseMs } from './lease-keeper.ts';
import { systemTimers, type Timers } from './wake-up.ts';

/** What sends one claimed message and records its outcome: `SendQueuedMessage`. */
export type QueuedMessageSender = {
  execute(send: ClaimedSend): ResultAsync<SendOutcome, StorageError>;
};

export type OutboxDispatcherOptions = {
  /** This process's name in leases (host, pid and a random part). */
  readonly owner: string;
  /** Most messages claimed and waiting for their slot at once. */
  readonly maxQueued: number;
  /** Most sends started at once: held for their slot (see `prepareLeadMs`) or waiting for Graph's answer. */
  readonly maxInFlight: number;
  /**
   * How long a claimed message is ours after its slot unless renewed; past it (and the outcome grace)
   * another worker may take it. Its send must leave and be answered well inside this first length.
   */
  readonly leaseMs: number;
  /** How far ahead a claim hands out send slots (about a second). */
  readonly horizonMs: number;
  /**
   * How long before its slot a send starts: its token is read meanwhile, and the rate guard holds the
   * request until the slot, so a slow storage call does not make it leave late.
   */
  readonly prepareLeadMs: number;
  /**
   * Claims start at least this far apart when new messages keep arriving: one claim then takes every
   * reply queued meanwhile, instead of one claim (the costliest statement) per reply.
   */
  readonly minClaimSpacingMs: number;
  /** Idle polling starts here and doubles up to `maxIdleMs` while there is nothing to send. */
  readonly minIdleMs: number;
  readonly maxIdleMs: number;
  /** How often queue depth and age are reported. */
  readonly depthIntervalMs: number;
};

export const defaultOutboxDispatcherOptions: Omit<OutboxDispatcherOptions, 'owner'> = {
  maxQueued: 1000,
  // The lead plus Graph's answer, ~100 ms in all: 256 keeps ~2,500 messages/s moving.
  maxInFlight: 256,
  leaseMs: workLeaseMs,
  horizonMs: 1000,
  prepareLeadMs: 30,
  minClaimSpacingMs: 20,
  minIdleMs: 25,
  maxIdleMs: 1000,
  depthIntervalMs: 5000,
};

export type OutboxDispatcherDependencies = {
  readonly queue: OutboxQueue;
  /** Sends through a gateway behind the process's `SendRateGuard`. */
  readonly sender: QueuedMessageSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly timers?: Timers;
  /** Renews the leases of the work in hand; without one, leases run their first length (tests). */
  readonly leases?: Pick<LeaseKeeper, 'hold' | 'release'>;
};

type Waiting = { readonly send: ClaimedSend; readonly claimedAt: number };

/** One number's claimed sends, in slot order. */
type Lane = {
  readonly phoneNumberId: PhoneNumberId;
  readonly waiting: Waiting[];
  timer: unknown;
  /** Sends claimed up to this claim are left to their lease (the number's token was just rejected). */
  parkedThroughClaim: number;
};

/**
 * Sends the outbox at each number's rate. The claim hands out send slots spaced so no number exceeds its
 * rate across all processes; this loop starts each send shortly before its slot (its token is read
 * meanwhile) and the `SendRateGuard` lets the request leave at the slot, never early, with a bounded
 * number in flight. It claims again halfway through each
 * horizon while there is work, backs off while there is none, and claims soon when told new messages
 * were queued.
 */
export class OutboxDispatcher {
  readonly #deps: OutboxDispatcherDependencies;
  readonly #options: OutboxDispatcherOptions;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #lanes = new Map<PhoneNumberId, Lane>();
  /** Lanes with a send due but no room in flight, served first come first served as room frees up. */
  readonly #waitingForRoom = new Set<Lane>();
  readonly #inFlight = new Set<Promise<void>>();
  /** Leases of messages handed over by `take`, and hand-backs of leased ones, under way. */
  readonly #leasing = new Set<Promise<void>>();
  /** Sends whose slot was missed, leased again together, one lease at a time (`#retake`). */
  readonly #missed: GroupCommit<string, void>;
  #queued = 0;
  #claimTimer: unknown;
  #claiming: Promise<void> | undefined;
  #claimSequence = 0;
  #lastClaimAt = Number.NEGATIVE_INFINITY;
  #pokedWhileClaiming = false;
  #idleMs: number;
  readonly #depthReport: AtMostEvery;
  #running = false;
  #stopping = false;
  #drained: (() => void) | undefined;

  constructor(dependencies: OutboxDispatcherDependencies, options: OutboxDispatcherOptions) {
    this.#deps = dependencies;
    this.#options = options;
    this.#timers = dependencies.timers ?? systemTimers;
    this.#logger = dependencies.logger.child({ component: 'outbox-dispatcher', owner: options.owner });
    this.#idleMs = options.minIdleMs;
    this.#depthReport = new AtMostEvery(options.depthIntervalMs);
    // Every send that missed while a lease of missed sends was under way goes in the next one.
    this.#missed = new GroupCommit<string, void>(
      (ids) => ResultAsync.fromSafePromise(this.#lease(ids)).map(() => ids.map(() => undefined)),
      { maxBatch: Number.POSITIVE_INFINITY, maxInFlight: 1 },
      this.#timers,
    );
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#scheduleClaim(0);
  }

  /**
   * The terms on which replies queued now are leased to this process with their slots in the transaction
   * that queues them (`OutboxStore.lease`): slots from a lead after the lease, as a lease here would give
   * them. None while stopping, or while as many messages wait here as it may hold.
   */
  sendSlotTerms(): SendSlotTerms | undefined {
    if (!this.#running || this.#stopping || this.#queued >= this.#options.maxQueued) return undefined;
    const { owner, leaseMs, horizonMs, prepareLeadMs } = this.#options;
    return { owner, leaseMs, horizonMs, leadMs: prepareLeadMs };
  }

  /**
   * Messages just queued in this process (replies), `leased` those of them already leased here with their
   * slots (see `sendSlotTerms`): they go as soon as their slots come. The rest get their slots without a
   * claim (`OutboxQueue.lease`), which takes those whose number's pacing another transaction held a
   * moment ago; any that lease leaves too (its recipient has a message in flight, its number is being
   * claimed elsewhere right now, its pace is past the horizon) go with a claim, asked for then.
   */
  take(ids: readonly string[], leased: readonly ClaimedSend[] = []): void {
    if (!this.#running) {
      this.#handBack(leased);
      return;
    }
    const { clock } = this.#deps;
    // While stopping too: `stop` waits for what is queued here, and these slots are at most a horizon away.
    if (leased.length > 0) this.#enqueue(leased, clock.now().getTime());
    const held = new Set(leased.map((send) => send.id));
    void this.#lease(ids.filter((id) => !held.has(id)));
  }

  /** Leases `ids` with their slots, without a claim; what the lease leaves goes with a claim, asked for then. */
  #lease(ids: readonly string[]): Promise<void> {
    if (this.#stopping || ids.length === 0) return Promise.resolve();
    if (this.#queued >= this.#options.maxQueued) {
      this.notify();
      return Promise.resolve();
    }
    const { owner, leaseMs, horizonMs, prepareLeadMs } = this.#options;
    const now = this.#deps.clock.now();
    const leasing: Promise<void> = this.#deps.queue
      .lease({ owner, leaseMs, now: new Date(now.getTime() + prepareLeadMs), horizonMs, ids })
      .match(
        (sends) => {
          this.#enqueue(sends, now.getTime());
          if (sends.length < ids.length) this.notify();
        },
        (error) => {
          this.#logger.error({ error: error.reason }, `cannot lease new messages: ${error.message}`);
          this.notify();
        },
      )
      .finally(() => this.#leasing.delete(leasing));
    this.#leasing.add(leasing);
    return leasing;
  }

  /**
   * Sends leased here that this process will not send (it has stopped): due again at once, as a missed slot
   * is, so a claim elsewhere takes them now rather than when their lease runs out.
   */
  #handBack(sends: readonly ClaimedSend[]): void {
    if (sends.length === 0) return;
    const handing: Promise<void> = this.#deps.queue
      .record(sends.map((send) => ({ id: send.id, lease: send.lease, kind: 'requeue' as const })))
      .match(
        () => undefined,
        (error) =>
          this.#logger.error(
            { error: error.reason, sends: sends.length },
            `cannot hand back messages leased after stopping (${error.message}); they wait for their lease to run out`,
          ),
      )
      .finally(() => this.#leasing.delete(handing));
    this.#leasing.add(handing);
  }

  /**
   * A send back in the queue with its slot missed gets the next one now, not at the next poll, by a lease of
   * its id as a new reply gets (`take`): a claim, the costliest statement of the send path (6 ms of the
   * server's time against about 1 ms), only if the lease leaves it. One such lease at a time, as one claim
   * at a time: the sends that miss meanwhile wait for it and go together in the next, so a machine too
   * busy to keep its slots is not handed a lease per miss on top.
   */
  #retake(id: string): void {
    void this.#missed.submit(id);
  }

  /** New messages were queued: claim now (or `minClaimSpacingMs` after the last claim) instead of at the next poll. */
  notify(): void {
    if (!this.#running || this.#stopping) return;
    this.#idleMs = this.#options.minIdleMs;
    if (this.#claiming === undefined) this.#scheduleClaim(this.#untilClaimAllowed());
    else this.#pokedWhileClaiming = true;
  }

  /**
   * Claims nothing more, sends what it already claimed at its slots (at most `horizonMs` away) and waits
   * for every send in flight to be recorded: nothing is left half-sent.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#timers.clearTimeout(this.#claimTimer);
    await this.#claiming;
    await Promise.all(this.#leasing);
    if (this.#queued > 0 || this.#inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      this.#drained = undefined;
    }
    this.#running = false;
  }

  /** Clamped: a clock stepped back must not hold claims for as long as the step. */
  #untilClaimAllowed(): number {
    const { minClaimSpacingMs } = this.#options;
    const allowedAt = this.#lastClaimAt + minClaimSpacingMs;
    return Math.min(minClaimSpacingMs, Math.max(0, allowedAt - this.#deps.clock.now().getTime()));
  }

  #scheduleClaim(delayMs: number): void {
    this.#timers.clearTimeout(this.#claimTimer);
    this.#claimTimer = this.#timers.setTimeout(() => {
      this.#claiming = this.#claim().finally(() => {
        this.#claiming = undefined;
      });
    }, delayMs);
  }

  async #claim(): Promise<void> {
    const { queue, clock } = this.#deps;
    const { owner, leaseMs, horizonMs, maxQueued, minIdleMs, maxIdleMs } = this.#options;
    this.#pokedWhileClaiming = false;
    this.#claimSequence += 1;
    this.#lastClaimAt = clock.now().getTime();
    let found = 0;
    const limit = maxQueued - this.#queued;
    if (limit > 0) {
      const now = clock.now();
      // Slots start a lead ahead, so even a number's first send has its token read before its slot.
      const slotsFrom = new Date(now.getTime() + this.#options.prepareLeadMs);
      const claimed = await queue.claim({ owner, limit, leaseMs, now: slotsFrom, horizonMs });
      if (claimed.isErr()) {
        this.#logger.error(
          { error: claimed.error.reason },
          `cannot claim outbox messages: ${claimed.error.message}`,
        );
      } else {
        found = claimed.value.length;
        this.#enqueue(claimed.value, now.getTime());
      }
      await this.#reportDepth();
    }
    if (this.#stopping) return;
    if (this.#pokedWhileClaiming) {
      this.#scheduleClaim(this.#untilClaimAllowed());
      return;
    }
    // With work, claim again halfway through the horizon so slots follow each other without a gap.
    this.#idleMs = found > 0 ? minIdleMs : Math.min(maxIdleMs, this.#idleMs * 2);
    this.#scheduleClaim(found > 0 || limit <= 0 ? horizonMs / 2 : this.#idleMs);
  }

  #enqueue(sends: readonly ClaimedSend[], claimedAt: number): void {
    const touched = new Set<Lane>();
    const held: string[] = [];
    for (const send of sends) {
      const lane = this.#laneOf(send.phoneNumberId);
      // A claim that started before the number's token was rejected: leave its sends to their lease.
      if (lane.parkedThroughClaim >= this.#claimSequence) continue;
      insertBySlot(lane.waiting, { send, claimedAt });
      this.#queued += 1;
      held.push(send.id);
      touched.add(lane);
    }
    this.#deps.leases?.hold('outbox', held);
    for (const lane of touched) this.#pump(lane);
  }

  #laneOf(phoneNumberId: PhoneNumberId): Lane {
    const known = this.#lanes.get(phoneNumberId);
    if (known !== undefined) return known;
    const lane: Lane = { phoneNumberId, waiting: [], timer: undefined, parkedThroughClaim: 0 };
    this.#lanes.set(phoneNumberId, lane);
    return lane;
  }

  /** Sends the lane's messages whose slot has come, then waits for the next slot, or for room in flight. */
  #pump(lane: Lane): void {
    this.#timers.clearTimeout(lane.timer);
    lane.timer = undefined;
    const now = this.#deps.clock.now().getTime();
    while (lane.waiting.length > 0) {
      if (this.#inFlight.size >= this.#options.maxInFlight) {
        this.#waitingForRoom.add(lane);
        return;
      }
      const head = lane.waiting[0]!;
      const startAt = head.send.sendAt.getTime() - this.#options.prepareLeadMs;
      if (startAt > now) {
        lane.timer = this.#timers.setTimeout(() => this.#pump(lane), Math.ceil(startAt - now));
        return;
      }
      lane.waiting.shift();
      this.#queued -= 1;
      this.#deps.metrics.observe('rate_limiter_wait_seconds', (now - head.claimedAt) / 1000);
      this.#launch(head.send);
    }
    if (lane.parkedThroughClaim < this.#claimSequence) this.#lanes.delete(lane.phoneNumberId);
  }

  #launch(send: ClaimedSend): void {
    const fields = { tenantId: send.tenantId, phoneNumberId: send.phoneNumberId, outboxId: send.id };
    const sending: Promise<void> = this.#deps.sender
      .execute(send)
      .match(
        (outcome) => {
          if (outcome === 'token_invalid') this.#park(this.#laneOf(send.phoneNumberId));
          if (outcome === 'slot_missed') this.#retake(send.id);
        },
        (error) =>
          this.#logger.error(
            { ...fields, error: error.reason },
            `cannot record the outcome of a send (${error.message}); the message is retried when its lease expires`,
          ),
      )
      .catch((bug: unknown) =>
        this.#logger.error(
          { ...fields, error: bug instanceof Error ? bug.stack : String(bug) },
          'bug while sending an outbox message',
        ),
      )
      .finally(() => {
        this.#deps.leases?.release('outbox', [send.id]);
        this.#inFlight.delete(sending);
        this.#roomFreed();
      });
    this.#inFlight.add(sending);
  }

  /**
   * Graph rejected the number's token: its other claimed sends would be rejected too, so they are not
   * tried. They stay leased until their lease runs out, and the claim skips the number until the token is
   * replaced; sends of a claim already under way are left alone the same way.
   */
  #park(lane: Lane): void {
    lane.parkedThroughClaim = this.#claimSequence;
    if (lane.waiting.length === 0) return;
    this.#logger.warn(
      { phoneNumberId: lane.phoneNumberId, parked: lane.waiting.length },
      `the token of number ${lane.phoneNumberId} was rejected; its claimed messages wait for their lease to expire`,
    );
    this.#queued -= lane.waiting.length;
    this.#deps.leases?.release(
      'outbox',
      lane.waiting.map(({ send }) => send.id),
    );
    lane.waiting.length = 0;
    this.#timers.clearTimeout(lane.timer);
    this.#waitingForRoom.delete(lane);
    this.#checkDrained();
  }

  #roomFreed(): void {
    for (const lane of this.#waitingForRoom) {
      if (this.#inFlight.size >= this.#options.maxInFlight) break;
      this.#waitingForRoom.delete(lane);
      this.#pump(lane);
    }
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#drained !== undefined && this.#queued === 0 && this.#inFlight.size === 0) this.#drained();
  }

  async #reportDepth(): Promise<void> {
    const { queue, clock, metrics } = this.#deps;
    const now = clock.now();
    if (!this.#depthReport.due(now)) return;
    const depth = await queue.depth(now);
    if (depth.isErr()) return;
    metrics.set('queue_depth', depth.value.pending, { queue: 'outbox' });
    metrics.set('messaging_limit_held', depth.value.held ?? 0);
    metrics.set(
      'queue_oldest_age_seconds',
      depth.value.oldestAt === undefined ? 0 : (now.getTime() - depth.value.oldestAt.getTime()) / 1000,
      { queue: 'outbox' },
    );
  }
}

/** Keeps a lane in slot order; claims arrive in order, so this is almost always an append. */
const insertBySlot = (waiting: Waiting[], item: Waiting): void => {
  let index = waiting.length;
  while (index > 0 && waiting[index - 1]!.send.sendAt > item.send.sendAt) index -= 1;
  waiting.splice(index, 0, item);
};
