import {
  type ClaimedSend,
  type Lease,
  type OutboxStatus,
  outcomeGraceMs,
  type SendRecord,
  type StorageError,
  type StoragePorts,
  slotSpacingMs,
} from '@prestabot/application';
import type { StorageHarness } from '@prestabot/application/testing';
import { expectOk, maxInAnySecond } from '@prestabot/application/testing';
import type { E164, PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';
import { expect } from 'vitest';

// What the storage model test knows about the outbox from the ports' answers alone, and the port's promises
// checked against it. The in-memory database and PostgreSQL are compared with each other; this catches
// what both could get wrong the same way.

export type ModelNumber = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly ratePerSecond: number;
};

/** The tenants and numbers of one run; every number may write to the same few recipients. */
export type ModelWorld = {
  readonly tenantIds: readonly TenantId[];
  readonly numbers: readonly ModelNumber[];
};

export const recipientPhones: readonly E164[] = ['+56910000001', '+56910000002', '+56910000003'] as E164[];

/** Both implementations under test, driven with the same calls. */
export type Sides = { readonly memory: StorageHarness; readonly postgres: StorageHarness };

/** Runs one port call on both sides, failing the run if either fails. */
export const onBoth = async <T>(
  sides: Sides,
  call: (ports: StoragePorts) => ResultAsync<T, StorageError>,
): Promise<{ readonly memory: T; readonly postgres: T }> => ({
  memory: await expectOk(call(sides.memory)),
  postgres: await expectOk(call(sides.postgres)),
});

/** An outbox message as the ports have shown it so far. */
type TrackedMessage = {
  readonly id: string;
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  /** Its number and recipient: one message of each at a time. */
  readonly recipientSlot: string;
  readonly priority: number;
  readonly createdAt: number;
  availableAt: number;
  status: OutboxStatus;
  lease?: Lease;
  finishedAt?: number;
};

/** A delivery status webhook for one of the model's messages, through its number or another tenant's. */
export type DeliveryStatusSent = {
  readonly messageId: string;
  readonly ownNumber: boolean;
  /** Its callback data is the message's outbox id, as every send's is. */
  readonly namesTheSend: boolean;
  readonly at: Date;
};

export type UnappliedStatus = DeliveryStatusSent & { leasedUntil?: number };

/** The claim's send order (`claim_outbox_rows`' ORDER BY); ids are lowercase UUIDs, so code-unit order. */
const sendOrder = (a: TrackedMessage, b: TrackedMessage): number =>
  b.priority - a.priority ||
  a.availableAt - b.availableAt ||
  a.createdAt - b.createdAt ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class StorageModel {
  readonly world: ModelWorld;
  now: number;
  readonly #messages = new Map<string, TrackedMessage>();
  /** Pruned messages and how they ended: a status may still name one the message log kept. */
  readonly #pruned = new Map<string, TrackedMessage>();
  /** Every send handed out, by claim or lease, whatever became of it: a record may name any of them. */
  readonly handedOut: { readonly id: string; readonly lease: Lease }[] = [];
  /** Every slot handed out per number: a slot given up for a new one may still have been used. */
  readonly #slots = new Map<PhoneNumberId, number[]>();
  /** The allowance each number's last slot came with: its next slot is that much later (`idleSlotAllowanceMs`). */
  readonly #lastAllowance = new Map<PhoneNumberId, number>();
  readonly #holds = new Map<string, number>();
  /** Stored delivery statuses not yet applied, by inbox entry id. */
  readonly unappliedStatuses = new Map<string, UnappliedStatus>();
  #lastFinishAt = 0;
  #idCount = 0;

  constructor(world: ModelWorld, start: Date) {
    this.world = world;
    this.now = start.getTime();
  }

  /** A fresh UUID; `shuffle` puts it anywhere in id order, so ties in time are broken differently. */
  nextId(shuffle: number): string {
    this.#idCount += 1;
    const prefix = (shuffle >>> 0).toString(16).padStart(8, '0');
    return `${prefix}-0000-4000-8000-${this.#idCount.toString(16).padStart(12, '0')}`;
  }

  /**
   * A finishing moment after every earlier one: the prune takes the oldest finished first, and with ties
   * which of them goes is the implementation's choice (the port does not order them).
   */
  finishTime(): Date {
    this.#lastFinishAt = Math.max(this.now, this.#lastFinishAt + 1);
    return new Date(this.#lastFinishAt);
  }

  numberOf(phoneNumberId: PhoneNumberId): ModelNumber {
    return this.world.numbers.find((number) => number.phoneNumberId === phoneNumberId)!;
  }

  /** Every message that still exists, and the ids pruned since (each tenant's `get` answers undefined). */
  knownIds(): { readonly live: readonly TrackedMessage[]; readonly pruned: readonly string[] } {
    return { live: [...this.#messages.values()], pruned: [...this.#pruned.keys()] };
  }

  message(id: string): TrackedMessage | undefined {
    return this.#messages.get(id);
  }

  enqueued(messages: readonly Omit<TrackedMessage, 'status'>[]): void {
    for (const message of messages) this.#messages.set(message.id, { ...message, status: 'pending' });
  }

  /** Whether the message's lease, or the grace after it for a status naming the send, still holds it. */
  #inFlight(message: TrackedMessage): boolean {
    return message.lease !== undefined && message.lease.until.getTime() + outcomeGraceMs > this.now;
  }

  /** Per number, the messages a claim may hand out now, in send order: the first due one per recipient. */
  #candidates(): Map<PhoneNumberId, TrackedMessage[]> {
    const pending = [...this.#messages.values()].filter((message) => message.status === 'pending');
    const busy = new Set(pending.filter((message) => this.#inFlight(message)).map((m) => m.recipientSlot));
    const byNumber = new Map<PhoneNumberId, TrackedMessage[]>();
    for (const message of pending
      .filter((candidate) => candidate.availableAt <= this.now && !this.#inFlight(candidate))
      .filter((candidate) => (this.#holds.get(candidate.recipientSlot) ?? 0) <= this.now)
      .sort(sendOrder)) {
      if (busy.has(message.recipientSlot)) continue;
      busy.add(message.recipientSlot);
      byNumber.set(message.phoneNumberId, [...(byNumber.get(message.phoneNumberId) ?? []), message]);
    }
    return byNumber;
  }

  /**
   * Whether the number's next slot falls within the horizon: surely (`certain`) or possibly. The slots
   * handed out say where its next free moment is to within the millisecond they were rounded up by.
   */
  #hasRoom(phoneNumberId: PhoneNumberId, horizonMs: number, certain: boolean): boolean {
    const last = this.#slots.get(phoneNumberId)?.at(-1);
    if (last === undefined) return true;
    const spacing = slotSpacingMs(this.numberOf(phoneNumberId).ratePerSecond);
    const nextFree =
      (certain ? Math.ceil(last + spacing) : last + spacing - 1) +
      (this.#lastAllowance.get(phoneNumberId) ?? 0);
    return nextFree <= this.now + horizonMs;
  }

  /**
   * The port's promises about one claim (or a lease of `only` these ids): it hands out only due, unheld
   * messages, at most one per recipient and none whose recipient has one in flight, in slots from now to
   * the horizon. A claim also gives each number the head of its queue in send order, and serves every
   * number with work when the limit leaves room for all of them.
   */
  checkHandout(
    claimed: readonly ClaimedSend[],
    request: { readonly horizonMs: number; readonly limit?: number; readonly only?: readonly string[] },
  ): void {
    const candidates = this.#candidates();
    const sendable = new Set([...candidates.values()].flat().map((message) => message.id));
    for (const send of claimed) {
      expect(sendable.has(send.id), `${send.id} was not sendable`).toBe(true);
      if (request.only !== undefined) expect(request.only).toContain(send.id);
      expect(send.sendAt.getTime()).toBeGreaterThanOrEqual(this.now);
      expect(send.sendAt.getTime()).toBeLessThanOrEqual(this.now + request.horizonMs);
    }
    if (request.limit === undefined) return;
    expect(claimed.length).toBeLessThanOrEqual(request.limit);
    for (const [phoneNumberId, queue] of candidates) {
      const inSlotOrder = claimed
        .filter((send) => send.phoneNumberId === phoneNumberId)
        .sort((a, b) => a.sendAt.getTime() - b.sendAt.getTime())
        .map((send) => send.id);
      expect(inSlotOrder).toEqual(queue.slice(0, inSlotOrder.length).map((message) => message.id));
    }
    const withWork = (certain: boolean) =>
      [...candidates.keys()].filter((number) => this.#hasRoom(number, request.horizonMs, certain));
    if (withWork(false).length > request.limit) return;
    const served = new Set(claimed.map((send) => send.phoneNumberId));
    for (const number of withWork(true)) expect(served.has(number), `${number} was not served`).toBe(true);
  }

  /** Notes the sends handed out, and holds each number to its rate over every slot it was ever given. */
  handedOutNow(claimed: readonly ClaimedSend[]): void {
    for (const send of claimed) {
      this.#messages.get(send.id)!.lease = send.lease;
      this.handedOut.push({ id: send.id, lease: send.lease });
      this.#slots.set(send.phoneNumberId, [
        ...(this.#slots.get(send.phoneNumberId) ?? []),
        send.sendAt.getTime(),
      ]);
      this.#lastAllowance.set(send.phoneNumberId, send.slotAllowanceMs);
    }
    for (const number of new Set(claimed.map((send) => send.phoneNumberId))) {
      const slots = this.#slots.get(number)!.map((at) => new Date(at));
      expect(maxInAnySecond(slots)).toBeLessThanOrEqual(this.numberOf(number).ratePerSecond);
    }
  }

  /** Applies what a record did, if it was recorded under the lease (not merely found sent already). */
  recorded(record: SendRecord, accepted: boolean): void {
    const message = this.#messages.get(record.id);
    if (!accepted || message === undefined || message.status !== 'pending') return;
    delete message.lease;
    switch (record.kind) {
      case 'sent':
      case 'failed':
        message.status = record.kind;
        message.finishedAt = record.at.getTime();
        break;
      case 'hold':
        this.#holds.set(message.recipientSlot, record.retryAt.getTime());
        message.availableAt = record.retryAt.getTime();
        break;
      case 'retry':
        message.availableAt = record.retryAt.getTime();
        break;
      default:
        break;
    }
  }

  /**
   * Whether a status is applied to its message (known: the message log has its wamid, as every send
   * recorded sent or proven by a status has): first, a status naming a pending send of its own tenant
   * and number proves Graph accepted it, whatever its worker recorded.
   */
  statusApplies(status: DeliveryStatusSent): boolean {
    const message = this.#messages.get(status.messageId) ?? this.#pruned.get(status.messageId)!;
    if (status.ownNumber && status.namesTheSend && message.status === 'pending') {
      delete message.lease;
      message.status = 'sent';
      message.finishedAt = status.at.getTime();
    }
    return status.ownNumber && message.status === 'sent';
  }

  /** The outbox messages a prune at `before` with `limit` deletes: the oldest finished first. */
  pruned(before: Date, limit: number): number {
    const finished = [...this.#messages.values()]
      .filter((message) => message.finishedAt !== undefined && message.finishedAt < before.getTime())
      .sort((a, b) => a.finishedAt! - b.finishedAt!)
      .slice(0, limit);
    for (const message of finished) {
      this.#messages.delete(message.id);
      this.#pruned.set(message.id, message);
    }
    return finished.length;
  }
}
