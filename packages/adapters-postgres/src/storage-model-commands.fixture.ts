import {
  type AppliedStatus,
  type ClaimedInboxEntry,
  type ClaimedSend,
  type ClaimedStatusEntry,
  minimumRetentionDays,
  type OutboxFailure,
  type SendRecord,
  type StatusFollowUps,
  type StoragePorts,
} from '@prestabot/application';
import { expectOk, statusInboxEntry, textOutboxEntry } from '@prestabot/application/testing';
import type { Wamid, WebhookDeliveryStatus } from '@prestabot/domain';
import type fc from 'fast-check';
import { expect } from 'vitest';
import { onBoth, recipientPhones, type Sides, type StorageModel } from './storage-model.fixture.ts';

// The calls a storage model run makes, each on both implementations with the same arguments; every answer
// is compared between them and checked against the model.

type ModelCommand = fc.AsyncCommand<StorageModel, Sides>;

export const second = 1000;
export const day = 24 * 3600 * second;
const noFollowUps: StatusFollowUps = { origins: [], statuses: [] };
/** Longer than any lease handed out plus the grace after it: every send is free again. */
export const pastEveryLease = 40 * second;

const byId = <T extends { readonly id: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

const wamidOf = (outboxId: string) => `wamid.${outboxId}` as Wamid;

export type NewMessage = {
  readonly number: number;
  readonly recipient: number;
  readonly priority: number;
  readonly delayMs: number;
  /** A small pool per tenant, so keys repeat and duplicates are refused (or accepted again once pruned). */
  readonly key: number;
  readonly shuffle: number;
};

export const enqueue = (tenant: number, messages: readonly NewMessage[]): ModelCommand => ({
  check: () => true,
  run: async (model, sides) => {
    const { tenantIds, numbers } = model.world;
    const tenantId = tenantIds[tenant % tenantIds.length]!;
    const own = numbers.filter((number) => number.tenantId === tenantId);
    const now = new Date(model.now);
    const entries = messages.map((message) => {
      const { phoneNumberId } = own[message.number % own.length]!;
      const to = recipientPhones[message.recipient % recipientPhones.length]!;
      const entry = textOutboxEntry(phoneNumberId, {
        to,
        priority: message.priority,
        at: now,
        key: `key-${message.key}`,
      });
      return {
        entry: {
          ...entry,
          id: model.nextId(message.shuffle),
          notBefore: new Date(model.now + message.delayMs),
        },
        recipientSlot: `${phoneNumberId}|${to}`,
      };
    });
    const { memory, postgres } = await onBoth(sides, (ports) =>
      ports.unitOfWork.run(tenantId, (r) => r.outbox.enqueue(entries.map(({ entry }) => entry))),
    );
    expect({ ...postgres, enqueued: [...postgres.enqueued].sort() }).toEqual({
      ...memory,
      enqueued: [...memory.enqueued].sort(),
    });
    model.enqueued(
      entries
        .filter(({ entry }) => memory.enqueued.includes(entry.id))
        .map(({ entry, recipientSlot }) => ({
          id: entry.id,
          tenantId,
          phoneNumberId: entry.phoneNumberId,
          recipientSlot,
          priority: entry.priority,
          createdAt: entry.createdAt.getTime(),
          availableAt: entry.notBefore.getTime(),
        })),
    );
  },
  toString: () => `enqueue(tenant ${tenant}, ${JSON.stringify(messages)})`,
});

/** Compares the sends both handed out, then holds them to the port's promises. */
const handedOut = (
  model: StorageModel,
  sends: { readonly memory: readonly ClaimedSend[]; readonly postgres: readonly ClaimedSend[] },
  request: Parameters<StorageModel['checkHandout']>[1],
) => {
  // The order the port promises is each number's slot order; which number's sends come first is not.
  expect(byId(sends.postgres)).toEqual(byId(sends.memory));
  model.checkHandout(sends.memory, request);
  model.handedOutNow(sends.memory);
};

export const claim = (limit: number, horizonMs: number, owner: string, leaseMs: number): ModelCommand => ({
  check: () => true,
  run: async (model, sides) => {
    const request = { owner, limit, leaseMs, horizonMs, now: new Date(model.now) };
    handedOut(model, await onBoth(sides, (ports) => ports.outboxQueue.claim(request)), { limit, horizonMs });
  },
  toString: () => `claim(limit ${limit}, horizon ${horizonMs}, ${owner}, lease ${leaseMs})`,
});

/** Leases messages as a host does right after queueing them, without a claim's search. */
export const lease = (picks: readonly number[], horizonMs: number): ModelCommand => ({
  check: (model) => model.knownIds().live.length > 0,
  run: async (model, sides) => {
    const { live } = model.knownIds();
    const ids = [...new Set(picks.map((pick) => live[pick % live.length]!.id))];
    const request = { owner: 'host', leaseMs: 30 * second, horizonMs, now: new Date(model.now), ids };
    handedOut(model, await onBoth(sides, (ports) => ports.outboxQueue.lease(request)), {
      horizonMs,
      only: ids,
    });
  },
  toString: () => `lease(${JSON.stringify(picks)}, horizon ${horizonMs})`,
});

export type OutcomeKind = 'sent' | 'failed' | 'retry' | 'hold' | 'requeue';
export type Outcome = {
  /** Which of the sends handed out so far, whatever became of it since. */
  readonly send: number;
  readonly kind: OutcomeKind;
  readonly delayMs: number;
  /** Under a lease that is not the send's: never recorded. */
  readonly stale: boolean;
};

const failures = {
  failed: { reason: 'rejected', code: 131026, title: 'Message undeliverable' },
  retry: { reason: 'retryable', code: 131000 },
  hold: { reason: 'pair_rate_limited', code: 131056 },
} as const satisfies { readonly [kind in OutcomeKind]?: OutboxFailure };

export const recordOutcomes = (outcomes: readonly Outcome[]): ModelCommand => ({
  check: (model) => model.handedOut.length > 0,
  run: async (model, sides) => {
    const sends = model.handedOut;
    // A batch may name a send twice: only the first outcome its lease holds for is recorded.
    const batch = outcomes.map(({ send: pick, kind, delayMs, stale }): SendRecord => {
      const send = sends[pick % sends.length]!;
      const id = send.id;
      const lease = stale ? { ...send.lease, owner: 'someone-else' } : send.lease;
      // Another worker's answer for a send is another send's wamid.
      const wamid = stale ? wamidOf(`${id}-elsewhere`) : wamidOf(id);
      return kind === 'sent'
        ? { id, lease, kind, wamid, at: model.finishTime() }
        : kind === 'failed'
          ? { id, lease, kind, at: model.finishTime(), failure: failures.failed }
          : kind === 'requeue'
            ? { id, lease, kind }
            : { id, lease, kind, retryAt: new Date(model.now + delayMs), failure: failures[kind] };
    });
    const { memory, postgres } = await onBoth(sides, (ports) => ports.outboxQueue.record(batch));
    expect(postgres).toEqual(memory);
    for (const [index, record] of batch.entries()) model.recorded(record, memory[index]!);
  },
  toString: () => `record(${JSON.stringify(outcomes)})`,
});

export const advance = (ms: number): ModelCommand => ({
  check: () => true,
  run: async (model) => {
    model.now += ms;
  },
  toString: () => `advance(${ms} ms)`,
});

export const prune = (limit: number): ModelCommand => ({
  check: () => true,
  run: async (model, sides) => {
    const before = new Date(model.now - minimumRetentionDays * day);
    const { memory, postgres } = await onBoth(sides, (ports) =>
      ports.finishedWorkRetention.pruneFinished(before, limit),
    );
    expect(postgres).toEqual(memory);
    expect(memory.outbox).toBe(model.pruned(before, limit));
  },
  toString: () => `prune(limit ${limit})`,
});

/** Compares what both say of one message: its outbox entry and, once sent, its delivery status. */
const compareMessage = async (model: StorageModel, sides: Sides, id: string): Promise<void> => {
  const tenantId = model.message(id)?.tenantId;
  if (tenantId === undefined) return;
  const entries = await onBoth(sides, (ports) => ports.unitOfWork.run(tenantId, (r) => r.outbox.get(id)));
  expect(entries.postgres).toEqual(entries.memory);
  expect(entries.memory?.status).toBe(model.message(id)!.status);
  const outbound = await onBoth(sides, (ports) =>
    ports.unitOfWork.run(tenantId, (r) => r.messages.outbound(wamidOf(id))),
  );
  expect(outbound.postgres).toEqual(outbound.memory);
};

export type StatusWebhook = {
  readonly message: number;
  readonly status: WebhookDeliveryStatus;
  /** Its callback data is the message's outbox id, as every send's is; else Meta's wamid alone names it. */
  readonly namesTheSend: boolean;
  readonly viaOtherTenant: boolean;
  readonly shuffle: number;
};

/** A delivery status webhook for one of the messages, through its own number or another tenant's. */
export const storeStatus = (webhook: StatusWebhook): ModelCommand => ({
  check: (model) => model.knownIds().live.length > 0,
  run: async (model, sides) => {
    const { live } = model.knownIds();
    const message = live[webhook.message % live.length]!;
    const stranger = model.world.numbers.find((number) => number.tenantId !== message.tenantId);
    const through =
      webhook.viaOtherTenant && stranger !== undefined ? stranger.phoneNumberId : message.phoneNumberId;
    const status = {
      messageId: message.id,
      ownNumber: through === message.phoneNumberId,
      namesTheSend: webhook.namesTheSend,
      at: model.finishTime(),
    };
    const id = model.nextId(webhook.shuffle);
    const entry = {
      ...statusInboxEntry(through, wamidOf(message.id), webhook.status, {
        at: status.at,
        ...(webhook.namesTheSend ? { callbackData: message.id } : {}),
        ...(webhook.status === 'failed'
          ? { errors: [{ code: 131026, title: 'Message undeliverable' }] }
          : {}),
      }),
      id,
      deliveryKey: `${wamidOf(message.id)}#${webhook.status}#${id}`,
      receivedAt: new Date(model.now),
    };
    const { memory, postgres } = await onBoth(sides, (ports) =>
      ports.inboxQueue.store({ entries: [entry], now: new Date(model.now), followUps: noFollowUps }),
    );
    expect(postgres).toEqual(memory);
    const applies = model.statusApplies(status);
    expect(memory.map((stored) => stored.outcome)).toEqual([applies ? 'applied' : 'stored']);
    if (!applies) model.unappliedStatuses.set(id, status);
    await compareMessage(model, sides, message.id);
  },
  toString: () => `status(${JSON.stringify(webhook)})`,
});

/** Claims the stored statuses and applies them, as the worker does with those it could not apply at once. */
export const applyStatuses: ModelCommand = {
  check: (model) => model.unappliedStatuses.size > 0,
  run: async (model, sides) => {
    const now = new Date(model.now);
    const leaseMs = 30 * second;
    const ids = [...model.unappliedStatuses.keys()];
    const request = { owner: 'statuses', limit: 100, leaseMs, now, ids };
    const claimed = await onBoth(sides, (ports) => ports.inboxQueue.claim(request));
    expect(byId(claimed.postgres)).toEqual(byId(claimed.memory));
    const free = ids.filter((id) => (model.unappliedStatuses.get(id)!.leasedUntil ?? 0) <= model.now);
    expect(claimed.memory.map((entry) => entry.id).sort()).toEqual(free.sort());
    // Each side applies the entries it handed out, under its own leases.
    const apply = (ports: StoragePorts, entries: readonly ClaimedInboxEntry[]) =>
      expectOk(
        ports.inboxQueue.applyStatuses({
          entries: entries as ClaimedStatusEntry[],
          now,
          followUps: noFollowUps,
        }),
      );
    const applied = {
      memory: await apply(sides.memory, claimed.memory),
      postgres: await apply(sides.postgres, claimed.postgres),
    };
    const byEntry = (results: readonly AppliedStatus[]) =>
      [...results].sort((a, b) => (a.entryId < b.entryId ? -1 : 1));
    expect(byEntry(applied.postgres)).toEqual(byEntry(applied.memory));
    for (const result of applied.memory) {
      const status = model.unappliedStatuses.get(result.entryId)!;
      expect(result.result).toBe(model.statusApplies(status) ? 'completed' : 'unknown');
      if (result.result === 'completed') model.unappliedStatuses.delete(result.entryId);
      else status.leasedUntil = model.now + leaseMs;
      await compareMessage(model, sides, status.messageId);
    }
  },
  toString: () => 'applyStatuses()',
};

/** Reads back everything: each message in its tenant (and in no other), and both queues' depths. */
export const observe: ModelCommand = {
  check: () => true,
  run: async (model, sides) => {
    const { live, pruned } = model.knownIds();
    for (const message of live) {
      await compareMessage(model, sides, message.id);
      const stranger = model.world.tenantIds.find((tenantId) => tenantId !== message.tenantId);
      if (stranger === undefined) continue;
      const seen = await onBoth(sides, (ports) =>
        ports.unitOfWork.run(stranger, (r) => r.outbox.get(message.id)),
      );
      expect(seen).toEqual({ memory: undefined, postgres: undefined });
    }
    for (const id of pruned)
      for (const tenantId of model.world.tenantIds) {
        const gone = await onBoth(sides, (ports) => ports.unitOfWork.run(tenantId, (r) => r.outbox.get(id)));
        expect(gone).toEqual({ memory: undefined, postgres: undefined });
      }
    const now = new Date(model.now);
    const outbox = await onBoth(sides, (ports) => ports.outboxQueue.depth(now));
    expect(outbox.postgres).toEqual(outbox.memory);
    expect(outbox.memory.pending).toBe(
      live.filter((message) => message.status === 'pending' && message.availableAt <= model.now).length,
    );
    const inbox = await onBoth(sides, (ports) => ports.inboxQueue.depth(now));
    expect(inbox.postgres).toEqual(inbox.memory);
  },
  toString: () => 'observe()',
};
