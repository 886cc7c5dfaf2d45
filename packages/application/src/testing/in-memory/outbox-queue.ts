import type { PhoneNumberId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import type {
  ClaimedSend,
  OutboxClaimRequest,
  OutboxLeaseRequest,
  SendRecord,
} from '../../ports/outbox.port.ts';
import { outcomeGraceMs, placeSends, slotSpacingMs } from '../../send-queued-message/send-pacing.ts';
import { businessPaceOf, recordReach, withinMessagingLimits } from './messaging-limits.ts';
import {
  holdsLease,
  type OutboxRow,
  outboxEntryOf,
  pendingOutboxRows,
  recipientSlot,
  type State,
} from './state.ts';

// The outbox across tenants, as `prestabot.claim_outbox`, `lease_sends` and `record_send_outcomes` do it.

/**
 * Whether a send is still someone's: under its lease, or within the grace after a lease that ran out with
 * no outcome recorded (a status naming it may still come; see `outcomeGraceMs`). Every outcome recorded
 * clears the lease, so a lease still there that ran out is exactly an outcome unknown.
 */
const sendHeld = (row: OutboxRow, now: Date): boolean =>
  row.lease !== undefined && row.lease.until.getTime() + outcomeGraceMs > now.getTime();

/**
 * The messages a claim may hand out now, in send order, and the recipients with a message in flight:
 * due, not leased, their number's token not flagged, their recipient not on hold. `waiting` are those
 * among them whose business slot has not come: not handed out, yet still ahead of their recipient's later
 * messages, as in `claim_outbox_rows`.
 */
const sendableNow = (
  state: State,
  now: Date,
): {
  readonly candidates: readonly OutboxRow[];
  readonly inFlight: ReadonlySet<string>;
  readonly waiting: ReadonlySet<OutboxRow>;
} => {
  // Scanned without keeping originals; each claimed row is taken with `get` below before it changes.
  const pending = pendingOutboxRows(state);
  const inFlight = new Set(pending.filter((row) => sendHeld(row, now)).map(recipientSlot));
  const sendable = new Map<PhoneNumberId, boolean>();
  const numberSendable = (phoneNumberId: PhoneNumberId): boolean => {
    let known = sendable.get(phoneNumberId);
    if (known === undefined) {
      const number = state.numbers.get(phoneNumberId);
      known = number !== undefined && number.invalid === undefined;
      sendable.set(phoneNumberId, known);
    }
    return known;
  };
  // A slowed number's business-initiated messages wait for its next business slot.
  const paces = new Map<PhoneNumberId, ReturnType<typeof businessPaceOf>>();
  const waitsForBusinessSlot = (row: OutboxRow): boolean => {
    const { phoneNumberId } = row.entry;
    if (!paces.has(phoneNumberId))
      paces.set(phoneNumberId, businessPaceOf(state, state.numbers.peek(phoneNumberId)!));
    const pace = paces.get(phoneNumberId);
    return (
      pace !== undefined && (pace.nextFreeAt?.getTime() ?? 0) > now.getTime() && pace.isBusinessInitiated(row)
    );
  };
  const candidates = pending
    .filter((row) => {
      if (row.availableAt > now || sendHeld(row, now) || !numberSendable(row.entry.phoneNumberId))
        return false;
      const hold = state.recipientHolds.size === 0 ? undefined : state.recipientHolds.get(recipientSlot(row));
      return hold === undefined || hold <= now;
    })
    .sort(
      (a, b) =>
        b.entry.priority - a.entry.priority ||
        a.availableAt.getTime() - b.availableAt.getTime() ||
        a.entry.createdAt.getTime() - b.entry.createdAt.getTime() ||
        // Ids are UUIDs: code-unit order, without the cost of locale-aware comparison on every tie.
        (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0),
    );
  return { candidates, inFlight, waiting: new Set(candidates.filter(waitsForBusinessSlot)) };
};

/**
 * Leases `rows` (in the claim's order) that the messaging limits let go, at slots paced for each number
 * (its business-initiated ones at its business pace), within the horizon.
 */
const leaseInSlots = (
  state: State,
  request: Pick<OutboxClaimRequest, 'owner' | 'leaseMs' | 'now' | 'horizonMs'>,
  rows: readonly OutboxRow[],
): ClaimedSend[] => {
  const horizon = new Date(request.now.getTime() + request.horizonMs);
  const rowsByNumber = new Map<PhoneNumberId, OutboxRow[]>();
  for (const row of withinMessagingLimits(state, rows, request.now))
    rowsByNumber.set(row.entry.phoneNumberId, [...(rowsByNumber.get(row.entry.phoneNumberId) ?? []), row]);
  const claimed: ClaimedSend[] = [];
  const leased: { row: OutboxRow; leaseUntil: Date }[] = [];
  for (const [phoneNumberId, sends] of rowsByNumber) {
    const number = state.numbers.get(phoneNumberId)!;
    const businessPace = businessPaceOf(state, number);
    const { placed, nextFreeAt, businessNextFreeAt } = placeSends({
      nextFreeAt: state.nextSlotAt.get(phoneNumberId),
      now: request.now,
      ratePerSecond: number.ratePerSecond,
      horizon,
      sends,
      ...defined({ businessPace }),
    });
    state.nextSlotAt.set(phoneNumberId, nextFreeAt);
    if (businessNextFreeAt !== undefined) state.businessNextSlotAt.set(phoneNumberId, businessNextFreeAt);
    // Only rows that got a slot are leased; the rest wait for a claim.
    for (const { send, sendAt, slotAllowanceMs } of placed) {
      const row = state.outbox.get(send.entry.id)!;
      row.lease = { owner: request.owner, until: new Date(sendAt.getTime() + request.leaseMs) };
      leased.push({ row, leaseUntil: row.lease.until });
      claimed.push({
        ...outboxEntryOf(row),
        lease: row.lease,
        sendAt,
        slotAllowanceMs,
        slotMisses: row.slotMisses ?? 0,
        token: number.token,
      });
    }
  }
  recordReach(state, leased);
  return claimed;
};

export const claimOutbox = (state: State, request: OutboxClaimRequest): ClaimedSend[] => {
  const { now } = request;
  const horizon = new Date(now.getTime() + request.horizonMs);
  const { candidates, inFlight, waiting } = sendableNow(state, now);
  const capacity = new Map<PhoneNumberId, number>();
  const capacityOf = (phoneNumberId: PhoneNumberId): number => {
    let known = capacity.get(phoneNumberId);
    if (known === undefined) {
      const number = state.numbers.get(phoneNumberId)!;
      const start = Math.max(now.getTime(), state.nextSlotAt.get(phoneNumberId)?.getTime() ?? 0);
      known =
        start > horizon.getTime()
          ? 0
          : Math.floor((horizon.getTime() - start) / slotSpacingMs(number.ratePerSecond)) + 1;
      capacity.set(phoneNumberId, known);
    }
    return known;
  };
  const queues = new Map<PhoneNumberId, OutboxRow[]>();
  const takenRecipients = new Set(inFlight);
  for (const row of candidates) {
    const slot = recipientSlot(row);
    if (takenRecipients.has(slot)) continue;
    takenRecipients.add(slot);
    const queue = queues.get(row.entry.phoneNumberId) ?? [];
    // Rows waiting for a business slot or past the number's capacity cannot be chosen, nor can later rows
    // of their recipients.
    if (waiting.has(row) || queue.length >= capacityOf(row.entry.phoneNumberId)) continue;
    queue.push(row);
    queues.set(row.entry.phoneNumberId, queue);
  }
  // Round robin across numbers, so one number's backlog cannot take the whole claim.
  const chosen: OutboxRow[] = [];
  for (let turn = 0; chosen.length < request.limit; turn += 1) {
    const before = chosen.length;
    for (const queue of queues.values())
      if (chosen.length < request.limit && turn < queue.length) chosen.push(queue[turn]!);
    if (chosen.length === before) break;
  }
  return leaseInSlots(state, request, chosen);
};

export const leaseSends = (state: State, request: OutboxLeaseRequest): ClaimedSend[] => {
  const wanted = new Set(request.ids);
  const { candidates, inFlight, waiting } = sendableNow(state, request.now);
  const firstOfRecipient = new Set(inFlight);
  const leasable: OutboxRow[] = [];
  for (const row of candidates) {
    const slot = recipientSlot(row);
    if (firstOfRecipient.has(slot)) continue;
    firstOfRecipient.add(slot);
    if (wanted.has(row.entry.id) && !waiting.has(row)) leasable.push(row);
  }
  // In number order, then send order, as `lease_sends` walks them.
  const byNumber = (a: OutboxRow, b: OutboxRow) =>
    a.entry.phoneNumberId < b.entry.phoneNumberId
      ? -1
      : a.entry.phoneNumberId > b.entry.phoneNumberId
        ? 1
        : 0;
  return leaseInSlots(state, request, leasable.sort(byNumber));
};

/** The stored token's ciphertext, or null: how `prestabot.record_send_outcomes` tells tokens apart. */
const ciphertextOf = (token: ClaimedSend['token']): string | null =>
  token.kind === 'sealed' ? token.sealed.ciphertext : null;

export const recordSends = (state: State, records: readonly SendRecord[]): boolean[] => {
  // `id|wamid` of the sends this batch recorded: a later record of the same send is answered as recorded
  // even where its row is gone.
  const sentHere = new Set<string>();
  return records.map((record) => {
    const row = state.outbox.get(record.id);
    const sentKey = `${record.id}|${record.kind === 'sent' ? record.wamid : ''}`;
    if (row === undefined) return record.kind === 'sent' && sentHere.has(sentKey);
    const held =
      row.status === 'pending' &&
      holdsLease(row, record.lease) &&
      (record.kind !== 'fallback' || row.entry.fallback !== undefined);
    if (!held) return record.kind === 'sent' && row.status === 'sent' && row.wamid === record.wamid;
    delete row.lease;
    const finish = (status: 'sent' | 'failed', at: Date) => {
      row.status = status;
      row.finishedAt = at;
      row.attempts += 1;
      state.pendingOutbox.delete(record.id);
    };
    switch (record.kind) {
      case 'sent': {
        finish('sent', record.at);
        if (record.wamid !== undefined) sentHere.add(sentKey);
        // As record_send_outcomes (0049): nothing asks for a sent message with no key and no fallback again.
        if (row.entry.idempotencyKey === undefined && row.entry.fallback === undefined)
          state.outbox.delete(record.id);
        if (record.wamid === undefined) break;
        row.wamid = record.wamid;
        const key = `${row.tenantId}|${record.wamid}`;
        if (!state.outbound.has(key))
          state.outbound.set(key, {
            tenantId: row.tenantId,
            wamid: record.wamid,
            phoneNumberId: row.entry.phoneNumberId,
            outboxId: row.entry.id,
            origin: row.entry.origin,
            type: row.entry.message.type,
            acceptedAt: record.at,
            status: 'accepted',
            ...defined({ contactId: row.entry.contactId }),
          });
        break;
      }
      case 'failed':
        finish('failed', record.at);
        row.lastFailure = record.failure;
        break;
      case 'requeue':
        row.slotMisses = (row.slotMisses ?? 0) + 1;
        break;
      case 'fallback': {
        const { fallback, ...entry } = row.entry;
        state.outbox.set(record.id, {
          ...row,
          entry: { ...entry, message: fallback! },
          availableAt: record.at,
        });
        break;
      }
      case 'retry':
      case 'hold':
      case 'token_invalid':
        if (record.kind === 'hold' && row.entry.recipient !== undefined)
          state.recipientHolds.set(recipientSlot(row), record.retryAt);
        if (record.kind === 'token_invalid') {
          const number = state.numbers.get(row.entry.phoneNumberId)!;
          if (ciphertextOf(number.token) === ciphertextOf(record.token))
            number.invalid = { errorCode: record.errorCode, at: record.at };
        }
        row.attempts += 1;
        row.availableAt = record.retryAt;
        row.lastFailure = record.failure;
        break;
    }
    return true;
  });
};
