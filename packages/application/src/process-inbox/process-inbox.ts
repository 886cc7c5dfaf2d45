import {
  type ContactId,
  err,
  ok,
  okAsync,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  recipientOf,
  safeTry,
  type TenantId,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { HandleInbound } from '../handle-inbound/handle-inbound.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type {
  ClaimedInboxEntry,
  ClaimedStatusEntry,
  InboxQueue,
  StatusFollowUps,
} from '../ports/inbox.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { StatusChange, StatusOutcome } from '../ports/message-log.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { ClaimedSend, NewOutboxEntry, OutboxLeaseRequest } from '../ports/outbox.port.ts';
import type { NumberRoute } from '../ports/tenant-directory.port.ts';
import type { TenantRepositories, TenantSection, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { ResolveTenant } from '../resolve-tenant/resolve-tenant.ts';
import { type Bug, bugOf } from './bug.ts';
import type { EntryOutcome } from './entry-outcome.ts';
import { identityOf } from './identity-of.ts';
import { mapWithLimit } from './map-with-limit.ts';
import { inProcessingOrder, isStatusEntry, type TenantWork } from './tenant-work.ts';

/** Reacts to a delivery status once it is applied (links reminders, switches to a template on 131047, …). */
export interface StatusListener {
  /** The statuses it wants to see: their entries are completed only after it ran. */
  readonly interest: StatusFollowUps;
  /** Runs in the tenant's unit of work. Must be idempotent: a crash before completion runs it again. */
  onStatus(
    change: StatusChange,
    outcome: StatusOutcome,
    repositories: TenantRepositories,
  ): ResultAsync<void, StorageError>;
}

export type ProcessInboxDependencies = {
  readonly inboxQueue: InboxQueue;
  /** Each message's tenant and number: through the routing cache, so a batch reads neither. */
  readonly resolveTenant: ResolveTenant;
  readonly unitOfWork: TenantUnitOfWork;
  readonly handleInbound: HandleInbound;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly statusListeners?: readonly StatusListener[];
  /** Tenants processed at once: each holds a database connection for its unit of work. */
  readonly concurrency?: number;
  /** How often a status for an unknown wamid is looked at again before it is given up (logged). */
  readonly unknownStatusAttempts?: number;
};

/** What the listeners want to see of statuses: what storing and applying statuses must leave for them. */
export const followUpsOf = (listeners: readonly StatusListener[]): StatusFollowUps => ({
  origins: [...new Set(listeners.flatMap((listener) => listener.interest.origins))],
  statuses: [...new Set(listeners.flatMap((listener) => listener.interest.statuses))],
});

/**
 * Tenants processed at once in a round. Each unit of work spends most of its time waiting for the
 * database, so rounds keep up only if several are under way; the pool must have room for them.
 */
export const defaultTenantConcurrency = 12;

/** Replies go before bulk messages in their number's queue. */
export const replyPriority = 10;

/**
 * On what terms replies get their send slots in the transaction that queues them (`OutboxStore.lease`):
 * the process that will send them, its lease, and how far after the lease statement is issued slots may
 * start (the rest of the transaction and its commit happen meanwhile). Without them, replies wait for the
 * sending process to lease or claim them after the commit.
 */
export type SendSlotTerms = Omit<OutboxLeaseRequest, 'ids' | 'now'> & { readonly leadMs: number };

type LeaseLost = { readonly type: 'lease_lost_rollback' };

/** The lease that gives replies their slots failed, and took the transaction with it (`SendSlotTerms`). */
type SendSlotsFailed = { readonly type: 'send_slots_failed'; readonly error: StorageError };

/** Each number's tenant and number as the directory has them, or undefined once no tenant has it. */
export type NumberRoutes = ReadonlyMap<PhoneNumberId, NumberRoute | undefined>;

/**
 * The person an entry comes from, within its tenant and number, whose entries are processed one at a time,
 * oldest first; statuses have none.
 */
export const inboxSenderKey = (
  tenantId: TenantId,
  entry: { readonly phoneNumberId: PhoneNumberId; readonly orderingKey?: string },
): string | undefined =>
  entry.orderingKey === undefined ? undefined : `${tenantId}|${entry.phoneNumberId}|${entry.orderingKey}`;

const addWork = (byTenant: Map<TenantId, TenantWork[]>, tenantId: TenantId, work: TenantWork): void => {
  const works = byTenant.get(tenantId);
  if (works === undefined) byTenant.set(tenantId, [work]);
  else works.push(work);
};

/** The entries that hold messages, as their tenants' works. */
const addMessages = (byTenant: Map<TenantId, TenantWork[]>, entries: readonly ClaimedInboxEntry[]): void => {
  for (const entry of entries)
    if (entry.item.kind === 'message')
      addWork(byTenant, entry.tenantId, { kind: 'message', entry, message: entry.item });
};

/**
 * Processes held inbox entries of any tenants in batches. Delivery statuses are applied all at once
 * (`InboxQueue.applyStatuses`); each tenant's messages are then answered in one unit of work, in order: the
 * sender becomes a contact, the message is logged (it opens the 24-hour window), the bot's replies are
 * queued and the entries are completed, all or nothing. If that fails, or a lease was lost meanwhile, the
 * tenant's entries are tried again one unit of work each, so one bad entry holds back no other.
 */
export class ProcessInbox {
  readonly #deps: ProcessInboxDependencies;
  readonly #followUps: StatusFollowUps;

  constructor(dependencies: ProcessInboxDependencies) {
    this.#deps = dependencies;
    this.#followUps = followUpsOf(dependencies.statusListeners ?? []);
  }

  /** One outcome per entry; never fails as a whole. */
  async execute(
    entries: readonly ClaimedInboxEntry[],
    slots?: SendSlotTerms,
  ): Promise<readonly EntryOutcome[]> {
    const outcomes: EntryOutcome[] = [];
    const byTenant = new Map<TenantId, TenantWork[]>();
    const add = (tenantId: TenantId, work: TenantWork) => addWork(byTenant, tenantId, work);

    const statuses = entries.filter(isStatusEntry);
    if (statuses.length > 0) {
      const applied = await this.#deps.inboxQueue.applyStatuses({
        entries: statuses,
        now: this.#deps.clock.now(),
        followUps: this.#followUps,
      });
      if (applied.isErr()) {
        const reason = `storage ${applied.error.reason}: ${applied.error.message}`;
        for (const entry of statuses) outcomes.push({ entry, type: 'failed', reason });
      } else {
        applied.value.forEach((result, index) => {
          const entry = statuses[index]!;
          if (result.result === 'follow_up')
            add(entry.tenantId, { kind: 'follow_up', entry, outcome: result.message });
          else if (result.result === 'unknown') add(entry.tenantId, { kind: 'unknown_status', entry });
          else if (result.result === 'lease_lost') outcomes.push({ entry, type: 'lease_lost' });
          else {
            this.#countStatus(entry, result.message.outboxId);
            outcomes.push({ entry, type: 'processed', enqueued: [], leased: [] });
          }
        });
      }
    }
    addMessages(byTenant, entries);

    const perTenant = await mapWithLimit(
      [...byTenant],
      this.#deps.concurrency ?? defaultTenantConcurrency,
      ([tenantId, works]) => this.#processTenant(tenantId, works.sort(inProcessingOrder), slots),
    );
    return [...outcomes, ...perTenant.flat()];
  }

  /**
   * The routes of these entries' numbers, through the routing cache. Read before the transaction that
   * answers them (`execute`'s units of work, `processInSections`): it holds a connection, and a lookup the
   * cache cannot answer needs one of its own (embedded PGlite has one).
   */
  routesOf(
    entries: readonly { readonly phoneNumberId: PhoneNumberId }[],
  ): ResultAsync<NumberRoutes, StorageError> {
    return this.#deps.resolveTenant.routesOf(entries.map(({ phoneNumberId }) => phoneNumberId));
  }

  /**
   * Answers held messages in the transaction that stored them (`InboxQueue.storeAndProcess`): each
   * tenant's in a section of its own, one tenant after another, as `execute` answers them in a unit of
   * work, with the `routes` read before it (`routesOf`). They were written done when stored
   * (`StoreAndProcessRequest.answering`), so nothing completes them here: the store puts back those not
   * answered. A section that fails is undone, and its entries are `left`, with no outcome, for `execute`.
   */
  async processInSections(
    entries: readonly ClaimedInboxEntry[],
    section: TenantSection,
    routes: NumberRoutes,
    slots?: SendSlotTerms,
  ): Promise<{ readonly outcomes: readonly EntryOutcome[]; readonly left: readonly ClaimedInboxEntry[] }> {
    const byTenant = new Map<TenantId, TenantWork[]>();
    addMessages(byTenant, entries);
    const outcomes: EntryOutcome[] = [];
    const left: ClaimedInboxEntry[] = entries.filter((entry) => entry.item.kind !== 'message');
    for (const [tenantId, works] of byTenant) {
      const done = await section(tenantId, (repositories) =>
        this.#work(works.sort(inProcessingOrder), routes, repositories, slots, 'written_done'),
      ).then(
        (settled) => settled,
        (bug: unknown) => err(bugOf(bug)),
      );
      if (done.isOk()) outcomes.push(...done.value);
      else {
        this.#deps.logger.warn(
          { tenantId, entries: works.length, error: done.error.type },
          'cannot answer messages in the transaction that stored them; answering them on their own',
        );
        left.push(...works.map(({ entry }) => entry));
      }
    }
    return { outcomes, left };
  }

  /** Counts an applied status, and logs a failed delivery. */
  #countStatus(entry: ClaimedStatusEntry, outboxId: string): void {
    const { status, errors } = entry.item;
    const firstError = errors[0];
    this.#deps.metrics.increment('delivery_statuses_total', {
      status,
      ...(firstError === undefined ? {} : { code: String(firstError.code) }),
    });
    if (status === 'failed')
      this.#deps.logger.warn(
        {
          tenantId: entry.tenantId,
          phoneNumberId: entry.phoneNumberId,
          wamid: entry.item.wamid,
          outboxId,
          code: firstError?.code,
          title: firstError?.title,
        },
        'message delivery failed',
      );
  }

  /** The tenant's works in one unit of work; on failure, each in a unit of work of its own. */
  async #processTenant(
    tenantId: TenantId,
    works: readonly TenantWork[],
    slots: SendSlotTerms | undefined,
  ): Promise<EntryOutcome[]> {
    const found = await this.routesOf(works.map(({ entry }) => entry));
    if (found.isErr())
      return works.map(({ entry }) => ({
        entry,
        type: 'failed' as const,
        reason: `storage ${found.error.reason}: ${found.error.message}`,
      }));
    const routes = found.value;
    const together = await this.#runInUnitOfWork(tenantId, works, routes, slots);
    if (together.isOk()) return together.value;
    const error = together.error;
    if (error.type === 'storage_error' && error.reason === 'unavailable')
      return works.map(({ entry }) => ({
        entry,
        type: 'failed' as const,
        reason: `storage unavailable: ${error.message}`,
      }));
    if (works.length === 1) return [this.#failedAlone(works[0]!, error)];
    const alone: EntryOutcome[] = [];
    const stuckSenders = new Set<string>();
    for (const work of works) {
      const sender = inboxSenderKey(work.entry.tenantId, work.entry);
      if (sender !== undefined && stuckSenders.has(sender)) {
        alone.push({
          entry: work.entry,
          type: 'deferred',
          reason: 'an earlier message of the sender failed',
        });
        continue;
      }
      // Without slots: after a failure, a failing lease would cost each entry a second unit of work.
      const result = await this.#runInUnitOfWork(tenantId, [work], routes, undefined);
      const outcomes = result.isOk() ? result.value : [this.#failedAlone(work, result.error)];
      if (sender !== undefined && outcomes.some((outcome) => outcome.type !== 'processed'))
        stuckSenders.add(sender);
      alone.push(...outcomes);
    }
    return alone;
  }

  /**
   * `works` in one unit of work of the tenant; a throw is a bug, reported as such. Should the lease that
   * gives replies their `slots` fail, it took the transaction with it: the works run again at once without
   * slots (an optimisation), and a claim gives the replies theirs.
   */
  async #runInUnitOfWork(
    tenantId: TenantId,
    works: readonly TenantWork[],
    routes: NumberRoutes,
    slots: SendSlotTerms | undefined,
  ): Promise<Result<EntryOutcome[], StorageError | LeaseLost | Bug>> {
    const result = await this.#deps.unitOfWork
      .run(tenantId, (repositories) => this.#work(works, routes, repositories, slots, 'complete'))
      .then(
        (settled) => settled,
        (bug: unknown) => err(bugOf(bug)),
      );
    if (result.isOk()) return ok(result.value);
    const error = result.error;
    if (error.type !== 'send_slots_failed') return err(error);
    this.#deps.logger.warn(
      { tenantId, error: error.error.reason },
      `cannot give replies their send slots while processing (${error.error.message}); processing without`,
    );
    return this.#runInUnitOfWork(tenantId, works, routes, undefined);
  }

  #failedAlone(work: TenantWork, error: StorageError | LeaseLost | Bug): EntryOutcome {
    const { entry } = work;
    if (error.type === 'lease_lost_rollback') return { entry, type: 'lease_lost' };
    if (error.type === 'bug') {
      this.#deps.logger.error(
        {
          tenantId: entry.tenantId,
          phoneNumberId: entry.phoneNumberId,
          inboxId: entry.id,
          error: error.stack,
        },
        'bug while processing an inbox entry',
      );
      return { entry, type: 'failed', reason: error.message };
    }
    return { entry, type: 'failed', reason: `storage ${error.reason}: ${error.message}` };
  }

  /**
   * Answers `works` with `repositories`. Their entries are completed under their leases (`complete`), or
   * were stored done by the transaction this runs in (`written_done`: no other process can have them).
   */
  #work(
    works: readonly TenantWork[],
    routes: NumberRoutes,
    repositories: TenantRepositories,
    slots: SendSlotTerms | undefined,
    completion: 'complete' | 'written_done',
  ): ResultAsync<EntryOutcome[], StorageError | LeaseLost | SendSlotsFailed> {
    const self = this;
    const now = this.#deps.clock.now();
    return safeTry(async function* () {
      const replies: NewOutboxEntry[] = [];
      const enqueuedBy = new Map<string, readonly NewOutboxEntry[]>();
      const handedBack = new Set<string>();
      for (const work of works) {
        if (work.kind === 'follow_up') {
          yield* self.#followUp(work, repositories);
          continue;
        }
        if (work.kind === 'unknown_status') {
          if (yield* self.#unknownStatus(work.entry, repositories, now)) handedBack.add(work.entry.id);
          continue;
        }
        const { entry, message } = work;
        const route = routes.get(message.phoneNumberId);
        // A number moved to another tenant since the entry was stored is not this tenant's any more.
        const { tenant, number } =
          route?.tenant.id === entry.tenantId ? route : { tenant: undefined, number: undefined };
        const identity = identityOf(message);
        const log = self.#deps.logger.child({
          tenantId: entry.tenantId,
          phoneNumberId: message.phoneNumberId,
          wamid: message.wamid,
        });
        if (tenant === undefined || number === undefined || identity === undefined) {
          log.warn(
            { content: message.content.type },
            'inbound message dropped: its number or sender can no longer be resolved',
          );
          continue;
        }
        const { contact, created } = yield* repositories.contacts.upsert(
          identity,
          self.#deps.ids.uuid() as ContactId,
        );
        // The conversation does not wait for the message to be logged: its statements follow the log's on
        // the same connection, so a pipelining one writes them together (and they still run after it).
        const [, outcome] = yield* ResultAsync.combine([
          repositories.messages.recordInbound({
            phoneNumberId: message.phoneNumberId,
            contactId: contact.id,
            sentAt: message.sentAt,
          }),
          self.#deps.handleInbound.execute(
            { tenant, number, contact, firstContact: created, message, now },
            repositories,
          ),
        ] as const);
        self.#deps.metrics.increment('inbound_messages_total', { type: message.content.type });
        const recipient = recipientOf(contact);
        const answers: NewOutboxEntry[] =
          recipient === undefined
            ? []
            : outcome.replies.map((reply) => ({
                id: self.#deps.ids.uuid(),
                phoneNumberId: message.phoneNumberId,
                recipient,
                contactId: contact.id,
                message: reply,
                origin: { kind: 'reply', inboxId: entry.id },
                priority: replyPriority,
                notBefore: now,
                createdAt: now,
              }));
        replies.push(...answers);
        enqueuedBy.set(entry.id, answers);
        log.info(
          { contactId: contact.id, content: message.content.type, replies: answers.length },
          'inbound message processed',
        );
      }
      const done = works
        .filter(({ entry }) => !handedBack.has(entry.id))
        .map(({ entry }) => ({ id: entry.id, lease: entry.lease }));
      // Issued together: none needs another's answer, so a pipelining connection sends them in one write,
      // and they run in this order (the lease sees the replies just queued). A lost lease rolls the replies
      // and their slots back with everything else.
      const [{ enqueued }, leased, stillHeld] = yield* ResultAsync.combine([
        repositories.outbox.enqueue(replies),
        slots === undefined || replies.length === 0
          ? okAsync<readonly ClaimedSend[], SendSlotsFailed>([])
          : repositories.outbox
              .lease({
                owner: slots.owner,
                leaseMs: slots.leaseMs,
                horizonMs: slots.horizonMs,
                now: new Date(self.#deps.clock.now().getTime() + slots.leadMs),
                ids: replies.map((reply) => reply.id),
              })
              .mapErr((error): SendSlotsFailed => ({ type: 'send_slots_failed', error })),
        completion === 'complete' ? repositories.inbox.complete(done, now) : okAsync(true),
      ] as const);
      if (!stillHeld) return err({ type: 'lease_lost_rollback' as const });
      const queued = new Set(enqueued);
      const leasedById = new Map(leased.map((send) => [send.id, send]));
      return ok(
        works.map(({ entry }): EntryOutcome => {
          if (handedBack.has(entry.id)) return { entry, type: 'retry_later' };
          const ids = (enqueuedBy.get(entry.id) ?? [])
            .map((reply) => reply.id)
            .filter((id) => queued.has(id));
          const sends = ids.flatMap((id) => leasedById.get(id) ?? []);
          return { entry, type: 'processed', enqueued: ids, leased: sends };
        }),
      );
    });
  }

  /**
   * A status for a wamid this tenant has not recorded: its send may still be being recorded, so it is
   * handed back to be looked at again later (true), until it has been tried often enough and is given up.
   */
  #unknownStatus(
    entry: ClaimedStatusEntry,
    repositories: TenantRepositories,
    now: Date,
  ): ResultAsync<boolean, StorageError | LeaseLost> {
    if (entry.attempts >= (this.#deps.unknownStatusAttempts ?? 6)) {
      this.#deps.logger.warn(
        {
          tenantId: entry.tenantId,
          phoneNumberId: entry.phoneNumberId,
          wamid: entry.item.wamid,
          status: entry.item.status,
        },
        'status for a message we never sent from this tenant; ignored',
      );
      return okAsync(false);
    }
    const retryAt = new Date(now.getTime() + 1000 * 2 ** entry.attempts);
    return repositories.inbox
      .release(entry.id, entry.lease, retryAt, 'status for a message not recorded yet')
      .andThen((owned) => (owned ? ok(true) : err({ type: 'lease_lost_rollback' as const })));
  }

  #followUp(
    work: Extract<TenantWork, { kind: 'follow_up' }>,
    repositories: TenantRepositories,
  ): ResultAsync<void, StorageError> {
    const { item } = work.entry;
    const change: StatusChange = { wamid: item.wamid, status: item.status, at: item.at, errors: item.errors };
    this.#countStatus(work.entry, work.outcome.outboxId);
    const listeners = this.#deps.statusListeners ?? [];
    return listeners.reduce<ResultAsync<void, StorageError>>(
      (chain, listener) => chain.andThen(() => listener.onStatus(change, work.outcome, repositories)),
      okAsync(undefined),
    );
  }
}
