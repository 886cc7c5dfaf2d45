/**
 * The share of a number's rate its sends are spaced for. Slots exactly 1/rate apart already keep any
 * one-second window at the rate or below; the 3 % margin absorbs about 30 ms of jitter between the moment
 * a worker sends and the moment Meta counts the message (a GC pause, a slow storage call), while keeping
 * throughput at 97 % of the allowance. Measured: a 2 % margin let a 20–35 ms stall through now and then.
 */
export const sendRateShare = 0.97;

/**
 * How late after its slot a send may still leave; later than this, it is given back to the queue for a
 * new slot (see `sendDeadline`). Every millisecond of lateness is taken from the margin above, which must
 * also absorb the jitter on the way to Meta, so this keeps a third of it. Measured (outbound-rate
 * benchmark, 920 msg/s over 10 numbers): 20 ms let a sender stall plus the fake Graph's own jitter exceed
 * the margin in most runs (130429 answers); 10 ms, none in 6 runs, for ~1 % of slots missed.
 */
export const slotToleranceMs = 10;

/**
 * How much later than `slotToleranceMs` a send may leave when its slot was the only one placed for its
 * number in a claim or lease, and the number had nothing placed ahead of it (an idle number, such as a
 * reply to one person on a number that is otherwise quiet). The number's next slot is then placed this
 * much later as well, so the send leaving anywhere in that stretch is the same as it leaving on time at a
 * slot there: no one-second window gains a send, and the margin above is untouched. Such sends are the
 * ones a busy or cold process misses most (the hand-over from the transaction that leased it, or several
 * numbers' slots falling in one turn of the event loop, took 10–40 ms longer than the lead), and every
 * miss costs another lease. A quiet number gives up this much of its next second; a busy one never
 * qualifies. `prestabot.idle_slot_allowance_ms()` is the same number in SQL.
 */
export const idleSlotAllowanceMs = 40;

/**
 * Missed slots after which a message goes late rather than wait for another slot. Sent late it may, with
 * other workers sending the same number on time, meet Meta's throttling (retried with backoff); requeued
 * for ever, a worker that is late for everything would send nothing at all.
 */
export const maxSlotMisses = 3;

/**
 * How long before its lease runs out a send must have left (at most half the lease): after that another
 * worker may claim the message, and both would send it.
 */
export const leaseSafetyMs = 5000;

/**
 * How long a send whose lease ran out with no outcome recorded (its worker died or hung while it was in
 * flight) waits before it is handed out again: Meta's status webhook naming it (its callback data is the
 * outbox id) usually arrives within a second or two of Graph accepting it, and marks it sent instead
 * (reconcile). Only a send no status names within this goes again. `prestabot.outcome_grace()` is the
 * same number in SQL; the outbox contract suite holds both to it.
 */
export const outcomeGraceMs = 5000;

/**
 * How long before its lease runs out Graph must have answered a send (at most a quarter of the lease):
 * the time left to record the answer (a group commit, retried) while the lease holds. A send leaves at
 * least `leaseSafetyMs` (or half the lease) before, so its request has the difference at least.
 */
export const outcomeRecordingMs = 2000;

/** The moment Graph must have answered a claimed send by (see `outcomeRecordingMs`). */
export const answerDeadline = (send: {
  readonly sendAt: Date;
  readonly lease: { readonly until: Date };
}): Date => {
  const leaseMs = send.lease.until.getTime() - send.sendAt.getTime();
  return new Date(send.lease.until.getTime() - Math.min(outcomeRecordingMs, leaseMs / 4));
};

/**
 * The latest moment a claimed send may leave: its slot plus `slotToleranceMs` and the allowance its slot
 * came with (`idleSlotAllowanceMs`), or, once it has missed `maxSlotMisses` slots, whenever it can, but
 * always well inside its lease.
 */
export const sendDeadline = (send: {
  readonly sendAt: Date;
  readonly slotAllowanceMs: number;
  readonly lease: { readonly until: Date };
  readonly slotMisses: number;
}): Date => {
  const leaseMs = send.lease.until.getTime() - send.sendAt.getTime();
  const leaseEnds = send.lease.until.getTime() - Math.min(leaseSafetyMs, leaseMs / 2);
  const slotEnds =
    send.slotMisses < maxSlotMisses
      ? send.sendAt.getTime() + slotToleranceMs + send.slotAllowanceMs
      : Number.POSITIVE_INFINITY;
  return new Date(Math.min(slotEnds, leaseEnds));
};

/** How far apart two sends of one number are placed. */
export const slotSpacingMs = (ratePerSecond: number): number => 1000 / (ratePerSecond * sendRateShare);

export type PacedSlots = {
  readonly slots: readonly Date[];
  /** Each slot's allowance (`idleSlotAllowanceMs` or 0), in the order of `slots`. */
  readonly slotAllowancesMs: readonly number[];
  /** The earliest moment the number's next slot may be placed. */
  readonly nextFreeAt: Date;
};

/**
 * Places up to `count` sends for one number, evenly spaced from the number's next free moment (or now, if
 * the number has been idle), stopping at `horizon`. Unlike a token bucket, an idle number earns no burst:
 * a full bucket plus its refill could put twice the rate into one second.
 */
export const placeSendSlots = (request: {
  readonly nextFreeAt: Date | undefined;
  readonly now: Date;
  readonly ratePerSecond: number;
  readonly count: number;
  readonly horizon: Date;
}): PacedSlots => {
  const { placed, nextFreeAt } = placeSends({ ...request, sends: Array.from({ length: request.count }) });
  return {
    slots: placed.map(({ sendAt }) => sendAt),
    slotAllowancesMs: placed.map(({ slotAllowanceMs }) => slotAllowanceMs),
    nextFreeAt,
  };
};

/** A number whose quality slows its business-initiated sends (`businessPaceShare` below 1). */
export type BusinessPace<Send> = {
  readonly share: number;
  readonly nextFreeAt: Date | undefined;
  readonly isBusinessInitiated: (send: Send) => boolean;
};

/**
 * Places `sends` (one number's, in send order) as `placeSendSlots` does; with a business pace, a
 * business-initiated send is placed only once the slower spacing since the previous one has passed, and
 * the rest wait for a later claim. A send placed alone on an idle number gets `idleSlotAllowanceMs`, and
 * the number's next slots (both paces) move that much later. `prestabot.place_send_slots` places them
 * the same way for the claim and the lease.
 */
export const placeSends = <Send>(request: {
  readonly nextFreeAt: Date | undefined;
  readonly now: Date;
  readonly ratePerSecond: number;
  readonly horizon: Date;
  readonly sends: readonly Send[];
  readonly businessPace?: BusinessPace<Send>;
}): {
  readonly placed: readonly {
    readonly send: Send;
    readonly sendAt: Date;
    readonly slotAllowanceMs: number;
  }[];
  readonly nextFreeAt: Date;
  readonly businessNextFreeAt?: Date;
} => {
  const spacing = slotSpacingMs(request.ratePerSecond);
  const pace = request.businessPace;
  const now = request.now.getTime();
  let next = Math.max(now, request.nextFreeAt?.getTime() ?? 0);
  // Nothing of the number's placed ahead: its slots start now, as `prestabot.pace_lanes` decides too.
  const idle = next === now;
  let businessNext = pace === undefined ? undefined : Math.max(now, pace.nextFreeAt?.getTime() ?? 0);
  const placed: { send: Send; sendAt: Date }[] = [];
  for (const send of request.sends) {
    if (next > request.horizon.getTime()) break;
    const business = pace?.isBusinessInitiated(send) === true;
    if (business && businessNext! > next) continue;
    placed.push({ send, sendAt: new Date(Math.ceil(next)) });
    if (business) businessNext = next + spacing / pace!.share;
    next += spacing;
  }
  const alone = idle && placed.length === 1;
  if (alone) {
    next += idleSlotAllowanceMs;
    if (businessNext !== undefined) businessNext += idleSlotAllowanceMs;
  }
  // Rounded up: rounding down would let many small claims creep above the rate a millisecond at a time.
  return {
    placed: placed.map((slot) => ({ ...slot, slotAllowanceMs: alone ? idleSlotAllowanceMs : 0 })),
    nextFreeAt: new Date(Math.ceil(next)),
    ...(businessNext === undefined ? {} : { businessNextFreeAt: new Date(Math.ceil(businessNext)) }),
  };
};
