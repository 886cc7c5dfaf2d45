import {
  advanceStatus,
  type DeliveryStatus,
  defined,
  type InboundStatus,
  type PhoneNumberId,
  type TenantId,
} from '@prestabot/domain';
import type {
  AppliedStatus,
  ApplyStatusesRequest,
  ClaimedInboxEntry,
  HeldEntry,
  InboxClaimRequest,
  StatusFollowUps,
  StoreAndProcessRequest,
  StoredInboxEntry,
} from '../../ports/inbox.port.ts';
import type { StatusOutcome } from '../../ports/message-log.port.ts';
import { inboxSenderKey } from '../../process-inbox/process-inbox.ts';
import { holdsLease, type InboxRow, itemTime, leaseActive, type State } from './state.ts';
import { recordPrices } from './usage-ledger.ts';

// The inbox across tenants, as `prestabot.store_webhook_items`, `claim_inbox` and `apply_statuses` do it.

const senderOf = (row: Pick<InboxRow, 'tenantId' | 'entry'>): string | undefined =>
  inboxSenderKey(row.tenantId, row.entry);

export const inboxKeyOf = (entry: InboxRow['entry']): string => `${entry.phoneNumberId}|${entry.deliveryKey}`;

export const storeInbox = (state: State, request: StoreAndProcessRequest): StoredInboxEntry[] => {
  const { lease, now } = request;
  const answering = new Set(request.answering);
  recordPrices(state, request.entries);
  // Statuses that need nothing more are applied, and not stored.
  const routedStatuses = request.entries.flatMap((entry, position) => {
    const number = state.numbers.get(entry.phoneNumberId);
    return number !== undefined && entry.item.kind === 'status'
      ? [
          {
            position,
            status: { tenantId: number.tenantId, phoneNumberId: entry.phoneNumberId, item: entry.item },
          },
        ]
      : [];
  });
  const judged = applyStatusBatch(
    state,
    routedStatuses.map(({ status }) => status),
    request.followUps,
  );
  const applied = new Set(
    routedStatuses
      .filter((_, index) => judged[index]!.result === 'completed')
      .map(({ position }) => position),
  );
  // As one statement sees the table before it: entries stored by this call do not hold each other back.
  const heldElsewhere = new Set(
    [...state.inbox.peekValues()]
      .filter(
        (row) =>
          row.processedAt === undefined &&
          !(lease !== undefined && row.lease?.owner === lease.owner && leaseActive(row, now)),
      )
      .flatMap((row) => senderOf(row) ?? []),
  );
  return request.entries.map((entry, position): StoredInboxEntry => {
    const number = state.numbers.get(entry.phoneNumberId);
    if (number === undefined) return { outcome: 'unrouted' };
    if (applied.has(position)) return { outcome: 'applied' };
    const key = inboxKeyOf(entry);
    if (state.inboxKeys.has(key)) return { outcome: 'duplicate' };
    const { tenantId } = number;
    const sender = senderOf({ tenantId, entry });
    const held =
      lease !== undefined && (sender === undefined || !heldElsewhere.has(sender))
        ? { owner: lease.owner, until: new Date(now.getTime() + lease.leaseMs) }
        : undefined;
    // Written done, as the caller is to answer it; `reopenInbox` puts it back if it does not.
    const done = held !== undefined && answering.has(entry.id);
    const row: InboxRow = {
      entry,
      tenantId,
      attempts: held === undefined ? 0 : 1,
      availableAt: entry.receivedAt,
      ...(held === undefined || done ? {} : { lease: held }),
      ...(done ? { processedAt: now } : {}),
    };
    state.inbox.set(entry.id, row);
    state.inboxKeys.set(key, entry.id);
    const stored = { ...entry, tenantId, attempts: row.attempts };
    return { outcome: 'stored', entry: held === undefined ? stored : { ...stored, lease: held } };
  });
};

/** As `prestabot.reopen_inbox_entries`: entries written done put back, pending under their lease. */
export const reopenInbox = (state: State, entries: readonly HeldEntry[]): number =>
  entries.filter(({ id, lease }) => {
    const row = state.inbox.get(id);
    if (row?.processedAt === undefined || row.lease !== undefined) return false;
    delete row.processedAt;
    row.lease = lease;
    return true;
  }).length;

export const claimInbox = (state: State, request: InboxClaimRequest): ClaimedInboxEntry[] => {
  const { now } = request;
  const pending = [...state.inbox.values()]
    .filter((row) => row.processedAt === undefined)
    .sort(
      (a, b) =>
        itemTime(a.entry) - itemTime(b.entry) ||
        a.entry.receivedAt.getTime() - b.entry.receivedAt.getTime() ||
        a.entry.id.localeCompare(b.entry.id),
    );
  // A sender with any entry in hand (even a newer one) waits until it is done.
  const blockedKeys = new Set(
    pending.filter((row) => leaseActive(row, now)).flatMap((row) => senderOf(row) ?? []),
  );
  const wanted = request.ids === undefined ? undefined : new Set(request.ids);
  const claimed: ClaimedInboxEntry[] = [];
  for (const row of pending) {
    const orderingKey = senderOf(row);
    const blocked = orderingKey !== undefined && blockedKeys.has(orderingKey);
    // Only the oldest pending entry of a sender may run, and only while no other of theirs is running.
    if (orderingKey !== undefined) blockedKeys.add(orderingKey);
    if (blocked || leaseActive(row, now) || row.availableAt > now) continue;
    if (wanted !== undefined && !wanted.has(row.entry.id)) continue;
    if (claimed.length >= request.limit) continue;
    row.attempts += 1;
    row.lease = { owner: request.owner, until: new Date(now.getTime() + request.leaseMs) };
    claimed.push({ ...row.entry, tenantId: row.tenantId, attempts: row.attempts, lease: row.lease });
  }
  return claimed;
};

const furthestFirst = ['played', 'read', 'delivered', 'sent'] as const;

/** A status and whose it is: the tenant and number it came through. */
type OwnedStatus = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly item: InboundStatus;
};

type StatusJudgement =
  | { readonly result: 'completed' | 'follow_up'; readonly message: StatusOutcome }
  | { readonly result: 'unknown' };

/** As `prestabot.apply_status_batch`: reconciles sends a status proves, moves messages forward, judges each. */
const applyStatusBatch = (
  state: State,
  statuses: readonly OwnedStatus[],
  followUps: StatusFollowUps,
): StatusJudgement[] => {
  const outboundKey = (tenantId: TenantId, wamid: string) => `${tenantId}|${wamid}`;

  // Sends Graph accepted whose answer was never recorded: the status is the proof.
  for (const { item, tenantId, phoneNumberId } of [...statuses].sort(
    (a, b) => a.item.at.getTime() - b.item.at.getTime(),
  )) {
    const { wamid, bizOpaqueCallbackData: outboxId, at } = item;
    if (outboxId === undefined || state.outbound.has(outboundKey(tenantId, wamid))) continue;
    const sent = state.outbox.get(outboxId);
    if (
      sent === undefined ||
      sent.tenantId !== tenantId ||
      sent.entry.phoneNumberId !== phoneNumberId ||
      sent.status !== 'pending'
    )
      continue;
    sent.status = 'sent';
    sent.wamid = wamid;
    sent.finishedAt = at;
    sent.attempts += 1;
    delete sent.lease;
    state.pendingOutbox.delete(outboxId);
    state.outbound.set(outboundKey(tenantId, wamid), {
      tenantId,
      wamid,
      phoneNumberId: sent.entry.phoneNumberId,
      outboxId,
      origin: sent.entry.origin,
      type: sent.entry.message.type,
      acceptedAt: at,
      status: 'accepted',
      ...defined({ contactId: sent.entry.contactId }),
    });
  }

  // Each message moves once per batch: to its furthest status, or to failed if any status failed it.
  const byMessage = new Map<string, InboundStatus[]>();
  for (const { item, tenantId } of statuses) {
    const key = outboundKey(tenantId, item.wamid);
    byMessage.set(key, [...(byMessage.get(key) ?? []), item]);
  }
  for (const [key, items] of byMessage) {
    const message = state.outbound.get(key);
    if (message === undefined) continue;
    const failed = items
      .filter((item) => item.status === 'failed')
      .sort((a, b) => a.at.getTime() - b.at.getTime())[0];
    const furthest = furthestFirst
      .map(
        (status) =>
          items.filter((item) => item.status === status).sort((a, b) => b.at.getTime() - a.at.getTime())[0],
      )
      .find((item) => item !== undefined);
    const incoming: DeliveryStatus | undefined = failed !== undefined ? 'failed' : furthest?.status;
    if (incoming === undefined || advanceStatus(message.status, incoming) === message.status) continue;
    message.status = advanceStatus(message.status, incoming);
    const firstError = failed?.errors[0];
    if (incoming === 'failed' && firstError !== undefined) message.error = firstError;
  }

  return statuses.map(({ item, tenantId }): StatusJudgement => {
    const message = state.outbound.get(outboundKey(tenantId, item.wamid));
    if (message === undefined) return { result: 'unknown' };
    const followUp =
      followUps.origins.includes(message.origin.kind) || followUps.statuses.includes(message.status);
    return {
      result: followUp ? 'follow_up' : 'completed',
      message: {
        current: message.status,
        outboxId: message.outboxId,
        origin: message.origin,
        ...defined({ contactId: message.contactId }),
      },
    };
  });
};

export const applyStatuses = (state: State, request: ApplyStatusesRequest): AppliedStatus[] => {
  const held = request.entries.flatMap((entry) => {
    const row = state.inbox.get(entry.id);
    return row !== undefined &&
      row.entry.item.kind === 'status' &&
      row.processedAt === undefined &&
      holdsLease(row, entry.lease)
      ? [{ entry, tenantId: row.tenantId }]
      : [];
  });
  const judged = applyStatusBatch(
    state,
    held.map(({ entry, tenantId }) => ({ tenantId, phoneNumberId: entry.phoneNumberId, item: entry.item })),
    request.followUps,
  );
  const results = new Map<string, AppliedStatus>();
  held.forEach(({ entry }, index) => {
    const judgement = judged[index]!;
    if (judgement.result === 'completed') {
      const row = state.inbox.get(entry.id)!;
      row.processedAt = request.now;
      delete row.lease;
    }
    results.set(entry.id, { entryId: entry.id, ...judgement });
  });
  return request.entries.map((entry) => results.get(entry.id) ?? { entryId: entry.id, result: 'lease_lost' });
};
