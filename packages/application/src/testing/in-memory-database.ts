import {
  type Agreement,
  type AgreementId,
  type AppId,
  advanceStatus,
  type Contact,
  type ContactId,
  compareLocalDates,
  type DeliveryStatus,
  type E164,
  err,
  errAsync,
  formatIsoDate,
  type GraphErrorDetail,
  isFinal,
  type LocalDate,
  okAsync,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  recipientKeyOf,
  type Tenant,
  type TenantId,
  type Wamid,
  type WhatsAppNumber,
} from '@prestabot/domain';
import { placeSendSlots, slotSpacingMs } from '../dispatch-outbox/send-pacing.ts';
import { type StorageError, storageError } from '../errors.ts';
import type {
  ContactProfile,
  ContactProfileStore,
  FlowKeyDirectory,
  FlowKeyStore,
  StoredFlowKey,
} from '../flows/flow-stores.port.ts';
import type {
  AgreementStore,
  ClaimedReminder,
  ConversationRecord,
  ConversationStore,
  RegisteredTemplate,
  Reminder,
  ReminderQueue,
  ReminderStore,
  TemplateStore,
} from '../loans/loan-stores.port.ts';
import type { ContactIdentity, ContactStore } from '../ports/contact-store.port.ts';
import type { FinishedWorkRetention, PrunedRows } from '../ports/finished-work-retention.port.ts';
import type {
  ClaimedInboxEntry,
  InboxClaimRequest,
  InboxQueue,
  InboxStore,
  Lease,
  NewInboxEntry,
  QueueDepth,
} from '../ports/inbox.port.ts';
import type {
  InboundRecord,
  MessageLog,
  OutboundRecord,
  StatusChange,
  StatusOutcome,
} from '../ports/message-log.port.ts';
import { type NumberStore, type StoredToken, tokenStatusOfStored } from '../ports/number-store.port.ts';
import type {
  ClaimedSend,
  NewOutboxEntry,
  OutboxClaimRequest,
  OutboxEntry,
  OutboxFailure,
  OutboxQueue,
  OutboxStatus,
  OutboxStore,
} from '../ports/outbox.port.ts';
import type {
  AppRegistry,
  NumberRoute,
  RegisteredApp,
  TenantDirectory,
} from '../ports/tenant-directory.port.ts';
import type { TenantStore } from '../ports/tenant-store.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { StorageHarness } from './contracts/storage-harness.ts';

type NumberRow = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly displayPhoneNumber?: E164;
  readonly wabaId: WhatsAppNumber['wabaId'];
  readonly appId?: AppId;
  token: StoredToken;
  invalid?: { readonly errorCode: number; readonly at: Date };
  readonly ratePerSecond: number;
};

type InboxRow = {
  readonly entry: NewInboxEntry;
  readonly tenantId: TenantId;
  attempts: number;
  availableAt: Date;
  lease?: Lease;
  processedAt?: Date;
  lastError?: string;
  abandoned?: boolean;
};

type OutboxRow = {
  readonly entry: NewOutboxEntry;
  readonly tenantId: TenantId;
  status: OutboxStatus;
  attempts: number;
  availableAt: Date;
  lease?: Lease;
  wamid?: Wamid;
  lastFailure?: OutboxFailure;
  /** When it was sent or failed (`sent_at`, `failed_at`). */
  finishedAt?: Date;
  slotMisses?: number;
};

type OutboundRow = OutboundRecord & {
  readonly tenantId: TenantId;
  status: DeliveryStatus;
  error?: GraphErrorDetail;
};

/**
 * A table whose changes a unit of work can roll back. Rows are changed in place, so the first time a unit
 * of work reaches an entry (reading, writing or iterating) the entry's original is kept: a copy of the row
 * for tables of mutable rows, the value itself for tables whose values are only ever replaced. Rolling back
 * puts the originals back. This costs a unit of work only what it touches, not the whole store.
 */
class JournaledMap<K, V> extends Map<K, V> {
  readonly #copy: (value: V) => V;
  #inUnitOfWork = false;
  /** Created on the first touch, so units of work that leave a table alone cost it nothing. */
  #originals: Map<K, V | undefined> | undefined;

  constructor(copy: (value: V) => V = (value) => value) {
    super();
    this.#copy = copy;
  }

  begin(): void {
    this.#inUnitOfWork = true;
  }

  commit(): void {
    this.#inUnitOfWork = false;
    this.#originals = undefined;
  }

  rollback(): void {
    const originals = this.#originals;
    this.commit();
    for (const [key, original] of originals ?? []) {
      if (original === undefined) super.delete(key);
      else super.set(key, original);
    }
  }

  override get(key: K): V | undefined {
    // Reading a key that is not there changes nothing; a later `set` keeps that it was absent.
    if (super.has(key)) this.#keep(key);
    return super.get(key);
  }

  override set(key: K, value: V): this {
    this.#keep(key);
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    this.#keep(key);
    return super.delete(key);
  }

  override entries(): MapIterator<[K, V]> {
    this.#keepAll();
    return super.entries();
  }

  override values(): MapIterator<V> {
    this.#keepAll();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** The rows as they are, keeping no originals: for reads, and for scans that `get` a row before changing it. */
  peekValues(): MapIterator<V> {
    return super.values();
  }

  /** One row as it is, keeping no original (see `peekValues`). */
  peek(key: K): V | undefined {
    return super.get(key);
  }

  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    this.#keepAll();
    super.forEach(callback, thisArg);
  }

  #keep(key: K): void {
    if (!this.#inUnitOfWork) return;
    this.#originals ??= new Map();
    if (this.#originals.has(key)) return;
    const current = super.get(key);
    this.#originals.set(key, current === undefined ? undefined : this.#copy(current));
  }

  #keepAll(): void {
    if (!this.#inUnitOfWork) return;
    for (const key of super.keys()) this.#keep(key);
  }
}

const rowCopy = <V extends object>(row: V): V => ({ ...row });

type ReminderRow = { reminder: Reminder; readonly tenantId: TenantId; lease?: Lease };

const emptyState = () => ({
  flowKeys: new JournaledMap<string, StoredFlowKey & { readonly tenantId: TenantId }>(),
  profiles: new JournaledMap<string, ContactProfile & { readonly tenantId: TenantId }>(),
  agreements: new JournaledMap<AgreementId, Agreement>(),
  conversations: new JournaledMap<string, ConversationRecord & { readonly tenantId: TenantId }>(),
  reminders: new JournaledMap<string, ReminderRow>(rowCopy),
  templates: new JournaledMap<string, RegisteredTemplate & { readonly tenantId: TenantId }>(),
  tenants: new JournaledMap<TenantId, Tenant>(),
  numbers: new JournaledMap<PhoneNumberId, NumberRow>(rowCopy),
  apps: new JournaledMap<AppId, RegisteredApp>(),
  contacts: new JournaledMap<ContactId, Contact>(),
  inbox: new JournaledMap<string, InboxRow>(rowCopy),
  outbox: new JournaledMap<string, OutboxRow>(rowCopy),
  /**
   * The ids of pending outbox rows, as PostgreSQL's partial index on pending rows: claims scan these, not
   * every message ever sent (a long benchmark's claims slowed down as sent rows piled up).
   */
  pendingOutbox: new JournaledMap<string, true>(),
  inbound: new JournaledMap<string, InboundRecord & { readonly tenantId: TenantId }>(),
  outbound: new JournaledMap<string, OutboundRow>(rowCopy),
  recipientHolds: new JournaledMap<string, Date>(),
  nextSlotAt: new JournaledMap<PhoneNumberId, Date>(),
  /** `tenant|idempotency key` → outbox id: the outbox's unique key, checked without scanning the outbox. */
  outboxKeys: new JournaledMap<string, string>(),
});

type State = ReturnType<typeof emptyState>;

const outboxKeyOf = (tenantId: TenantId, idempotencyKey: string) => `${tenantId}|${idempotencyKey}`;

const pendingOutboxRows = (state: State): OutboxRow[] =>
  Array.from(state.pendingOutbox.keys(), (id) => state.outbox.peek(id)!);

const holdsLease = (row: { readonly lease?: Lease }, lease: Lease): boolean =>
  row.lease !== undefined &&
  row.lease.owner === lease.owner &&
  row.lease.until.getTime() === lease.until.getTime();

const leaseActive = (row: { readonly lease?: Lease }, now: Date): boolean =>
  row.lease !== undefined && row.lease.until > now;

const itemTime = (entry: NewInboxEntry): number =>
  (entry.item.kind === 'message' ? entry.item.sentAt : entry.item.at).getTime();

/**
 * Every storage port in memory, with the semantics the PostgreSQL adapter has: tenant scoping on every
 * read and write, atomic units of work (a failed one leaves no trace), unique keys, leases, paced claims.
 * Units of work run one at a time.
 */
export class InMemoryDatabase {
  readonly #state: State = emptyState();
  #queue: Promise<unknown> = Promise.resolve();
  #unavailable = false;

  readonly unitOfWork: TenantUnitOfWork = {
    run: (tenantId, work) => this.#transaction((state) => work(this.#repositories(tenantId, state))),
  };
  readonly directory: TenantDirectory = {
    findNumber: (phoneNumberId) => this.#read((state) => routeOf(state, phoneNumberId)),
    listApps: () => this.#read((state) => [...state.apps.values()]),
    listTenants: () =>
      this.#read((state) =>
        [...state.tenants.values()].map((tenant) => ({
          tenant,
          numbers: [...state.numbers.values()].filter((row) => row.tenantId === tenant.id).map(numberOf),
        })),
      ),
  };
  readonly apps: AppRegistry = {
    register: (app) =>
      this.#transaction((state) => {
        const existing = [...state.apps.values()].find(
          (known) => app.metaAppId !== undefined && known.metaAppId === app.metaAppId,
        );
        const id = existing?.id ?? app.id;
        state.apps.set(id, { ...app, id });
        return okAsync(id);
      }),
  };
  readonly inboxQueue: InboxQueue = {
    claim: (request) => this.#transaction((state) => okAsync(claimInbox(state, request))),
    depth: (now) =>
      this.#read((state) =>
        depthOf(
          [...state.inbox.peekValues()].filter((row) => row.processedAt === undefined),
          now,
        ),
      ),
  };
  readonly flowKeyDirectory: FlowKeyDirectory = {
    listAll: () =>
      this.#read((state) =>
        [...state.flowKeys.peekValues()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()),
      ),
  };
  /** Every port of the database, as the storage contract suites take them. */
  harness(): StorageHarness {
    return {
      unitOfWork: this.unitOfWork,
      directory: this.directory,
      apps: this.apps,
      inboxQueue: this.inboxQueue,
      outboxQueue: this.outboxQueue,
      reminderQueue: this.reminderQueue,
      flowKeyDirectory: this.flowKeyDirectory,
      finishedWorkRetention: this.finishedWorkRetention,
      close: async () => {},
    };
  }

  readonly reminderQueue: ReminderQueue = {
    claimDue: (request) => this.#transaction((state) => okAsync(claimReminders(state, request))),
  };
  readonly finishedWorkRetention: FinishedWorkRetention = {
    pruneFinished: (before, limit) =>
      this.#transaction((state) => okAsync(pruneFinished(state, before, limit))),
  };
  readonly outboxQueue: OutboxQueue = {
    claim: (request) => this.#transaction((state) => okAsync(claimOutbox(state, request))),
    depth: (now) => this.#read((state) => depthOf(pendingOutboxRows(state), now)),
  };

  /** Simulates the database being down: every call fails with `unavailable` until switched back. */
  setUnavailable(unavailable: boolean): void {
    this.#unavailable = unavailable;
  }

  /** A read-only look at everything stored, for assertions (every tenant, unscoped). */
  snapshot(): Readonly<State> {
    return this.#state;
  }

  #read<T>(read: (state: State) => T): ResultAsync<T, StorageError> {
    return this.#transaction((state) => okAsync(read(state)));
  }

  #transaction<T, E>(work: (state: State) => ResultAsync<T, E>): ResultAsync<T, E | StorageError> {
    const run = async (): Promise<Result<T, E | StorageError>> => {
      if (this.#unavailable)
        return err(storageError('unavailable', 'the in-memory database is switched off'));
      const tables = Object.values(this.#state);
      for (const table of tables) table.begin();
      try {
        const result = await work(this.#state);
        for (const table of tables) {
          if (result.isErr()) table.rollback();
          else table.commit();
        }
        return result;
      } catch (bug) {
        for (const table of tables) table.rollback();
        throw bug;
      }
    };
    const next = this.#queue.then(run);
    this.#queue = next.catch(() => undefined);
    return new ResultAsync(next);
  }

  /** Each store is built on first use: most units of work touch one or two of them. */
  #repositories(tenantId: TenantId, state: State): TenantRepositories {
    const repositories = {} as TenantRepositories;
    for (const [name, create] of Object.entries(storeFactories)) {
      Object.defineProperty(repositories, name, {
        enumerable: true,
        configurable: true,
        get: () => {
          const store = create(tenantId, state);
          Object.defineProperty(repositories, name, { value: store, enumerable: true });
          return store;
        },
      });
    }
    return repositories;
  }
}

const routeOf = (state: State, phoneNumberId: PhoneNumberId): NumberRoute | undefined => {
  const row = state.numbers.get(phoneNumberId);
  const tenant = row === undefined ? undefined : state.tenants.get(row.tenantId);
  return row === undefined || tenant === undefined ? undefined : { tenant, number: numberOf(row) };
};

const numberOf = (row: NumberRow): WhatsAppNumber => ({
  tenantId: row.tenantId,
  phoneNumberId: row.phoneNumberId,
  wabaId: row.wabaId,
  tokenStatus: tokenStatusOfStored(row.token, row.invalid),
  ratePerSecond: row.ratePerSecond,
  ...(row.displayPhoneNumber === undefined ? {} : { displayPhoneNumber: row.displayPhoneNumber }),
  ...(row.appId === undefined ? {} : { appId: row.appId }),
});

const depthOf = (rows: readonly { readonly availableAt: Date }[], now: Date): QueueDepth => {
  const due = rows.filter((row) => row.availableAt <= now);
  const oldest = due.reduce<Date | undefined>(
    (min, row) => (min === undefined || row.availableAt < min ? row.availableAt : min),
    undefined,
  );
  return { pending: due.length, ...(oldest === undefined ? {} : { oldestAt: oldest }) };
};

const duplicate = (message: string) => storageError('duplicate', message);

const tenantStore = (tenantId: TenantId, state: State): TenantStore => ({
  create: (tenant) => {
    if (tenant.id !== tenantId)
      return errAsync(storageError('constraint', 'a tenant can only be created in its own scope'));
    if (state.tenants.has(tenant.id)) return errAsync(duplicate(`tenant ${tenant.id} exists`));
    state.tenants.set(tenant.id, tenant);
    return okAsync(undefined);
  },
  current: () => okAsync(state.tenants.get(tenantId)),
  updateSettings: (settings) => {
    const tenant = state.tenants.get(tenantId);
    if (tenant !== undefined) state.tenants.set(tenantId, { ...tenant, settings });
    return okAsync(undefined);
  },
});

const ownNumber = (tenantId: TenantId, state: State, phoneNumberId: PhoneNumberId): NumberRow | undefined => {
  const row = state.numbers.get(phoneNumberId);
  return row?.tenantId === tenantId ? row : undefined;
};

const numberStore = (tenantId: TenantId, state: State): NumberStore => ({
  add: (number) => {
    if (!state.tenants.has(tenantId))
      return errAsync(storageError('constraint', `tenant ${tenantId} does not exist`));
    if (state.numbers.has(number.phoneNumberId))
      return errAsync(duplicate(`phone_number_id ${number.phoneNumberId} is registered`));
    state.numbers.set(number.phoneNumberId, { ...number, tenantId });
    return okAsync(undefined);
  },
  get: (phoneNumberId) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    return okAsync(row === undefined ? undefined : numberOf(row));
  },
  list: () => okAsync([...state.numbers.values()].filter((row) => row.tenantId === tenantId).map(numberOf)),
  token: (phoneNumberId) => okAsync(ownNumber(tenantId, state, phoneNumberId)?.token),
  replaceToken: (phoneNumberId, token) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(false);
    row.token = token;
    delete row.invalid;
    return okAsync(true);
  },
  markTokenInvalid: (phoneNumberId, errorCode, at) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row !== undefined) row.invalid = { errorCode, at };
    return okAsync(undefined);
  },
});

const contactStore = (tenantId: TenantId, state: State): ContactStore => {
  const own = () => [...state.contacts.values()].filter((contact) => contact.tenantId === tenantId);
  const find = (identity: ContactIdentity) =>
    (identity.userId === undefined
      ? undefined
      : own().find((contact) => contact.userId === identity.userId)) ??
    (identity.phone === undefined ? undefined : own().find((contact) => contact.phone === identity.phone));
  return {
    upsert: (identity, idIfNew) => {
      const existing = find(identity);
      if (existing === undefined) {
        if (state.contacts.has(idIfNew)) return errAsync(duplicate(`contact ${idIfNew} exists`));
        const contact: Contact = { id: idIfNew, tenantId, optedOut: false, ...identity };
        state.contacts.set(contact.id, contact);
        return okAsync({ contact, created: true });
      }
      const phoneFree =
        identity.phone !== undefined &&
        !own().some((contact) => contact.id !== existing.id && contact.phone === identity.phone);
      const userIdFree =
        identity.userId !== undefined &&
        !own().some((contact) => contact.id !== existing.id && contact.userId === identity.userId);
      const updated: Contact = {
        ...existing,
        ...(existing.phone === undefined && phoneFree && identity.phone !== undefined
          ? { phone: identity.phone }
          : {}),
        ...(existing.userId === undefined && userIdFree && identity.userId !== undefined
          ? { userId: identity.userId }
          : {}),
        ...(identity.name === undefined || state.profiles.get(existing.id)?.name !== undefined
          ? {}
          : { name: identity.name }),
      };
      state.contacts.set(updated.id, updated);
      return okAsync({ contact: updated, created: false });
    },
    get: (id) => {
      const contact = state.contacts.get(id);
      return okAsync(contact?.tenantId === tenantId ? contact : undefined);
    },
    findByPhone: (phone) => okAsync(own().find((contact) => contact.phone === phone)),
    setOptedOut: (id, optedOut) => {
      const contact = state.contacts.get(id);
      if (contact?.tenantId === tenantId) state.contacts.set(id, { ...contact, optedOut });
      return okAsync(undefined);
    },
  };
};

const inboxStore = (tenantId: TenantId, state: State): InboxStore => {
  const leased = (id: string, lease: Lease) => {
    const row = state.inbox.get(id);
    return row !== undefined &&
      row.tenantId === tenantId &&
      row.processedAt === undefined &&
      holdsLease(row, lease)
      ? row
      : undefined;
  };
  return {
    record: (entries) => {
      if (!state.tenants.has(tenantId))
        return errAsync(storageError('constraint', `tenant ${tenantId} does not exist`));
      const stored = new Set(
        [...state.inbox.values()].map((row) => `${row.entry.phoneNumberId}|${row.entry.deliveryKey}`),
      );
      const recorded: string[] = [];
      for (const entry of entries) {
        const key = `${entry.phoneNumberId}|${entry.deliveryKey}`;
        if (stored.has(key)) continue;
        if (ownNumber(tenantId, state, entry.phoneNumberId) === undefined) {
          return errAsync(storageError('constraint', `number ${entry.phoneNumberId} is not this tenant's`));
        }
        stored.add(key);
        state.inbox.set(entry.id, { entry, tenantId, attempts: 0, availableAt: entry.receivedAt });
        recorded.push(entry.id);
      }
      return okAsync({ recorded, duplicates: entries.length - recorded.length });
    },
    complete: (id, lease, at) => {
      const row = leased(id, lease);
      if (row === undefined) return okAsync(false);
      row.processedAt = at;
      delete row.lease;
      return okAsync(true);
    },
    release: (id, lease, retryAt, error) => {
      const row = leased(id, lease);
      if (row === undefined) return okAsync(false);
      row.availableAt = retryAt;
      row.lastError = error;
      delete row.lease;
      return okAsync(true);
    },
    abandon: (id, lease, at, error) => {
      const row = leased(id, lease);
      if (row === undefined) return okAsync(false);
      row.processedAt = at;
      row.abandoned = true;
      row.lastError = error;
      delete row.lease;
      return okAsync(true);
    },
  };
};

const claimInbox = (state: State, request: InboxClaimRequest): ClaimedInboxEntry[] => {
  const { now } = request;
  const pending = [...state.inbox.values()]
    .filter((row) => row.processedAt === undefined)
    .sort(
      (a, b) =>
        itemTime(a.entry) - itemTime(b.entry) ||
        a.entry.receivedAt.getTime() - b.entry.receivedAt.getTime() ||
        a.entry.id.localeCompare(b.entry.id),
    );
  const keyOf = (row: InboxRow) =>
    row.entry.orderingKey === undefined
      ? undefined
      : `${row.tenantId}|${row.entry.phoneNumberId}|${row.entry.orderingKey}`;
  // A sender with any entry in hand (even a newer one) waits until it is done.
  const blockedKeys = new Set(
    pending.filter((row) => leaseActive(row, now)).flatMap((row) => keyOf(row) ?? []),
  );
  const wanted = request.ids === undefined ? undefined : new Set(request.ids);
  const claimed: ClaimedInboxEntry[] = [];
  for (const row of pending) {
    const orderingKey = keyOf(row);
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

const outboxStore = (tenantId: TenantId, state: State): OutboxStore => {
  const leased = (id: string, lease: Lease) => {
    const row = state.outbox.get(id);
    return row !== undefined &&
      row.tenantId === tenantId &&
      row.status === 'pending' &&
      holdsLease(row, lease)
      ? row
      : undefined;
  };
  const settle = (id: string, lease: Lease, change: (row: OutboxRow) => void) => {
    const row = leased(id, lease);
    if (row === undefined) return okAsync(false);
    change(row);
    delete row.lease;
    return okAsync(true);
  };
  return {
    enqueue: (entries) => {
      const enqueued: string[] = [];
      for (const entry of entries) {
        const key = outboxKeyOf(tenantId, entry.idempotencyKey);
        if (state.outboxKeys.has(key)) continue;
        if (ownNumber(tenantId, state, entry.phoneNumberId) === undefined) {
          return errAsync(storageError('constraint', `number ${entry.phoneNumberId} is not this tenant's`));
        }
        if (entry.contactId !== undefined && state.contacts.get(entry.contactId)?.tenantId !== tenantId) {
          return errAsync(storageError('constraint', `contact ${entry.contactId} is not this tenant's`));
        }
        state.outboxKeys.set(key, entry.id);
        state.pendingOutbox.set(entry.id, true);
        state.outbox.set(entry.id, {
          entry,
          tenantId,
          status: 'pending',
          attempts: 0,
          availableAt: entry.notBefore,
        });
        enqueued.push(entry.id);
      }
      return okAsync({ enqueued, duplicates: entries.length - enqueued.length });
    },
    get: (id) => {
      const row = state.outbox.get(id);
      return okAsync(row?.tenantId === tenantId ? outboxEntryOf(row) : undefined);
    },
    markSent: (id, lease, wamid, at) =>
      settle(id, lease, (row) => {
        row.status = 'sent';
        state.pendingOutbox.delete(id);
        row.attempts += 1;
        row.finishedAt = at;
        if (wamid !== undefined) row.wamid = wamid;
      }),
    markFailed: (id, lease, failure, at) =>
      settle(id, lease, (row) => {
        row.status = 'failed';
        state.pendingOutbox.delete(id);
        row.attempts += 1;
        row.finishedAt = at;
        row.lastFailure = failure;
      }),
    retryLater: (id, lease, retryAt, failure) =>
      settle(id, lease, (row) => {
        row.attempts += 1;
        row.availableAt = retryAt;
        row.lastFailure = failure;
      }),
    requeue: (id, lease) =>
      settle(id, lease, (row) => {
        row.slotMisses = (row.slotMisses ?? 0) + 1;
      }),
    switchToFallback: (id, lease, at) => {
      const row = leased(id, lease);
      if (row === undefined || row.entry.fallback === undefined) return okAsync(false);
      const { fallback, ...entry } = row.entry;
      const { lease: _lease, ...rest } = row;
      state.outbox.set(id, { ...rest, entry: { ...entry, message: fallback }, availableAt: at });
      return okAsync(true);
    },
    holdRecipient: (phoneNumberId, recipient, until) => {
      if (ownNumber(tenantId, state, phoneNumberId) !== undefined)
        state.recipientHolds.set(`${phoneNumberId}|${recipientKeyOf(recipient)}`, until);
      return okAsync(undefined);
    },
  };
};

const outboxEntryOf = (row: OutboxRow): OutboxEntry => ({
  ...row.entry,
  tenantId: row.tenantId,
  status: row.status,
  attempts: row.attempts,
  ...(row.wamid === undefined ? {} : { wamid: row.wamid }),
  ...(row.lastFailure === undefined ? {} : { lastFailure: row.lastFailure }),
});

/** Entries never change, so each one's recipient key is built once, not on every claim. */
const recipientSlots = new WeakMap<NewOutboxEntry, string>();

const recipientSlot = (row: OutboxRow): string => {
  const cached = recipientSlots.get(row.entry);
  if (cached !== undefined) return cached;
  const { entry } = row;
  const slot = `${entry.phoneNumberId}|${entry.recipient === undefined ? `outbox:${entry.id}` : recipientKeyOf(entry.recipient)}`;
  recipientSlots.set(entry, slot);
  return slot;
};

const claimOutbox = (state: State, request: OutboxClaimRequest): ClaimedSend[] => {
  const { now } = request;
  const horizon = new Date(now.getTime() + request.horizonMs);
  // Scanned without keeping originals; each claimed row is taken with `get` below before it changes.
  const pending = pendingOutboxRows(state);
  const inFlight = new Set(pending.filter((row) => leaseActive(row, now)).map(recipientSlot));
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
  const candidates = pending
    .filter((row) => {
      if (row.availableAt > now || leaseActive(row, now) || !numberSendable(row.entry.phoneNumberId))
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
    const queue = queues.get(row.entry.phoneNumberId) ?? [];
    // Rows past the number's capacity cannot be chosen, nor can later rows of their recipients.
    if (queue.length >= capacityOf(row.entry.phoneNumberId)) continue;
    const slot = recipientSlot(row);
    if (takenRecipients.has(slot)) continue;
    takenRecipients.add(slot);
    queue.push(row);
    queues.set(row.entry.phoneNumberId, queue);
  }
  // Round robin across numbers, so one number's backlog cannot take the whole claim.
  const chosen = new Map<PhoneNumberId, OutboxRow[]>();
  let total = 0;
  let progressed = true;
  while (total < request.limit && progressed) {
    progressed = false;
    for (const [phoneNumberId, queue] of queues) {
      const taken = chosen.get(phoneNumberId) ?? [];
      if (total >= request.limit || taken.length >= queue.length) continue;
      taken.push(queue[taken.length]!);
      chosen.set(phoneNumberId, taken);
      total += 1;
      progressed = true;
    }
  }
  const claimed: ClaimedSend[] = [];
  for (const [phoneNumberId, rows] of chosen) {
    const number = state.numbers.get(phoneNumberId)!;
    const { slots, nextFreeAt } = placeSendSlots({
      nextFreeAt: state.nextSlotAt.get(phoneNumberId),
      now,
      ratePerSecond: number.ratePerSecond,
      count: rows.length,
      horizon,
    });
    state.nextSlotAt.set(phoneNumberId, nextFreeAt);
    // The capacity estimate above may exceed by one what fits before the horizon (floating-point sums):
    // only rows that got a slot are claimed, the rest wait for the next claim.
    slots.forEach((sendAt, index) => {
      const row = state.outbox.get(rows[index]!.entry.id)!;
      row.lease = { owner: request.owner, until: new Date(sendAt.getTime() + request.leaseMs) };
      claimed.push({
        ...outboxEntryOf(row),
        lease: row.lease,
        sendAt,
        slotMisses: row.slotMisses ?? 0,
      });
    });
  }
  return claimed;
};

const messageLog = (tenantId: TenantId, state: State): MessageLog => ({
  recordInbound: (record) => {
    const key = `${tenantId}|${record.wamid}`;
    if (!state.inbound.has(key)) state.inbound.set(key, { ...record, tenantId });
    return okAsync(undefined);
  },
  lastInboundAt: (phoneNumberId, contactId) =>
    okAsync(
      [...state.inbound.values()]
        .filter(
          (row) =>
            row.tenantId === tenantId && row.phoneNumberId === phoneNumberId && row.contactId === contactId,
        )
        .reduce<Date | undefined>(
          (latest, row) => (latest === undefined || row.sentAt > latest ? row.sentAt : latest),
          undefined,
        ),
    ),
  recordOutbound: (record) => {
    const key = `${tenantId}|${record.wamid}`;
    if (!state.outbound.has(key)) state.outbound.set(key, { ...record, tenantId, status: 'accepted' });
    return okAsync(undefined);
  },
  applyStatus: (change: StatusChange) => {
    const row = state.outbound.get(`${tenantId}|${change.wamid}`);
    if (row === undefined) return okAsync(undefined);
    const previous = row.status;
    row.status = advanceStatus(previous, change.status);
    const firstError = change.errors[0];
    if (row.status === 'failed' && previous !== 'failed' && firstError !== undefined) row.error = firstError;
    const outcome: StatusOutcome = {
      previous,
      current: row.status,
      outboxId: row.outboxId,
      origin: row.origin,
      ...(row.contactId === undefined ? {} : { contactId: row.contactId }),
    };
    return okAsync(outcome);
  },
});

const ownAgreement = (tenantId: TenantId, state: State, id: AgreementId): Agreement | undefined => {
  const agreement = state.agreements.get(id);
  return agreement?.tenantId === tenantId ? agreement : undefined;
};

const agreementStore = (tenantId: TenantId, state: State): AgreementStore => ({
  create: (agreement) => {
    if (agreement.tenantId !== tenantId)
      return errAsync(storageError('constraint', 'an agreement belongs to the scoped tenant'));
    const ownContact = (id: ContactId) => state.contacts.get(id)?.tenantId === tenantId;
    if (
      !ownContact(agreement.lenderId) ||
      !ownContact(agreement.borrowerId) ||
      ownNumber(tenantId, state, agreement.phoneNumberId) === undefined
    ) {
      return errAsync(
        storageError('constraint', "an agreement may only refer to its tenant's contacts and numbers"),
      );
    }
    if (state.agreements.has(agreement.id)) return errAsync(duplicate(`agreement ${agreement.id} exists`));
    state.agreements.set(agreement.id, agreement);
    return okAsync(undefined);
  },
  get: (id) => okAsync(ownAgreement(tenantId, state, id)),
  listFor: (contactId, limit) => {
    const mine = [...state.agreements.peekValues()].filter(
      (agreement) =>
        agreement.tenantId === tenantId &&
        (agreement.lenderId === contactId || agreement.borrowerId === contactId),
    );
    const open = mine
      .filter((agreement) => !isFinal(agreement.status))
      .sort(
        (a, b) => compareLocalDates(a.dueDate, b.dueDate) || a.createdAt.getTime() - b.createdAt.getTime(),
      );
    const closed = mine
      .filter((agreement) => isFinal(agreement.status))
      .sort((a, b) => (b.closedAt ?? b.createdAt).getTime() - (a.closedAt ?? a.createdAt).getTime());
    return okAsync([...open, ...closed].slice(0, limit));
  },
  pendingFor: (borrowerId) =>
    okAsync(
      [...state.agreements.peekValues()]
        .filter(
          (agreement) =>
            agreement.tenantId === tenantId &&
            agreement.borrowerId === borrowerId &&
            agreement.status === 'pending_confirmation',
        )
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
    ),
  update: (agreement, expected) => {
    const stored = ownAgreement(tenantId, state, agreement.id);
    if (stored === undefined || stored.status !== expected) return okAsync(false);
    state.agreements.set(agreement.id, agreement);
    return okAsync(true);
  },
});

const conversationStore = (tenantId: TenantId, state: State): ConversationStore => {
  const key = (contactId: ContactId) => `${tenantId}|${contactId}`;
  return {
    get: (contactId) => {
      const record = state.conversations.get(key(contactId));
      return okAsync(
        record === undefined
          ? undefined
          : { state: record.state, version: record.version, expiresAt: record.expiresAt },
      );
    },
    save: (contactId, conversation, expectedVersion, expiresAt) => {
      if (state.contacts.get(contactId)?.tenantId !== tenantId) {
        return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
      }
      const current = state.conversations.get(key(contactId))?.version ?? 0;
      if (current !== expectedVersion) return okAsync(false);
      state.conversations.set(key(contactId), {
        tenantId,
        state: conversation,
        version: current + 1,
        expiresAt,
      });
      return okAsync(true);
    },
    clear: (contactId) => {
      state.conversations.delete(key(contactId));
      return okAsync(undefined);
    },
  };
};

const reminderKeyOf = (reminder: {
  readonly agreementId: AgreementId;
  readonly kind: string;
  readonly localDate: LocalDate;
}) => `${reminder.agreementId}|${reminder.kind}|${formatIsoDate(reminder.localDate)}`;

const reminderStore = (tenantId: TenantId, state: State): ReminderStore => {
  const own = (agreementId: AgreementId) =>
    [...state.reminders.values()].filter(
      (row) => row.tenantId === tenantId && row.reminder.agreementId === agreementId,
    );
  const leased = (id: string, lease: Lease) => {
    const row = state.reminders.get(id);
    return row !== undefined &&
      row.tenantId === tenantId &&
      row.reminder.status === 'pending' &&
      holdsLease(row, lease)
      ? row
      : undefined;
  };
  const settle = (id: string, lease: Lease, change: Partial<Reminder>) => {
    const row = leased(id, lease);
    if (row === undefined) return okAsync(false);
    row.reminder = { ...row.reminder, ...change };
    delete row.lease;
    return okAsync(true);
  };
  return {
    replacePlan: (agreementId, plan) => {
      if (ownAgreement(tenantId, state, agreementId) === undefined) {
        return errAsync(storageError('constraint', `agreement ${agreementId} is not this tenant's`));
      }
      const wanted = new Set(plan.map(reminderKeyOf));
      const existing = own(agreementId);
      let cancelled = 0;
      for (const row of existing) {
        if (row.reminder.status === 'pending' && !wanted.has(reminderKeyOf(row.reminder))) {
          row.reminder = { ...row.reminder, status: 'cancelled', reason: 'rescheduled' };
          cancelled += 1;
        }
      }
      const known = new Set(existing.map((row) => reminderKeyOf(row.reminder)));
      let added = 0;
      for (const reminder of plan) {
        if (known.has(reminderKeyOf(reminder))) continue;
        if (state.contacts.get(reminder.recipientId)?.tenantId !== tenantId) {
          return errAsync(storageError('constraint', 'a reminder goes to a contact of its tenant'));
        }
        state.reminders.set(reminder.id, { tenantId, reminder: { ...reminder, status: 'pending' } });
        added += 1;
      }
      return okAsync({ added, cancelled });
    },
    cancelPending: (agreementId, reason) => {
      let cancelled = 0;
      for (const row of own(agreementId)) {
        if (row.reminder.status !== 'pending') continue;
        row.reminder = { ...row.reminder, status: 'cancelled', reason };
        cancelled += 1;
      }
      return okAsync(cancelled);
    },
    listFor: (agreementId) => okAsync(own(agreementId).map((row) => row.reminder)),
    markQueued: (id, lease, outboxId) => settle(id, lease, { status: 'queued', outboxId }),
    markSkipped: (id, lease, reason) => settle(id, lease, { status: 'skipped', reason }),
    recordDelivery: (id, status) => {
      const row = state.reminders.get(id);
      if (row?.tenantId === tenantId)
        row.reminder = {
          ...row.reminder,
          delivery: advanceStatus(row.reminder.delivery ?? 'accepted', status),
        };
      return okAsync(undefined);
    },
  };
};

const claimReminders = (
  state: State,
  request: { readonly owner: string; readonly now: Date; readonly limit: number; readonly leaseMs: number },
): ClaimedReminder[] =>
  [...state.reminders.values()]
    .filter(
      (row) =>
        row.reminder.status === 'pending' &&
        row.reminder.scheduledAt <= request.now &&
        !leaseActive(row, request.now),
    )
    .sort((a, b) => a.reminder.scheduledAt.getTime() - b.reminder.scheduledAt.getTime())
    .slice(0, request.limit)
    .map((row) => {
      row.lease = { owner: request.owner, until: new Date(request.now.getTime() + request.leaseMs) };
      return { ...row.reminder, tenantId: row.tenantId, lease: row.lease };
    });

/** The `limit` rows that finished earliest, all before `before`; unfinished rows have no finishing time. */
const earliestFinished = <Row>(
  rows: Iterable<Row>,
  finishedAt: (row: Row) => Date | undefined,
  before: Date,
  limit: number,
): Row[] =>
  [...rows]
    .flatMap((row) => {
      const at = finishedAt(row);
      return at !== undefined && at < before ? [{ row, at }] : [];
    })
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .slice(0, limit)
    .map(({ row }) => row);

/** As `prestabot.prune_finished` does: a pruned message's idempotency key is free again, its reminder stays. */
const pruneFinished = (state: State, before: Date, limit: number): PrunedRows => {
  const inbox = earliestFinished(state.inbox.peekValues(), (row) => row.processedAt, before, limit);
  for (const row of inbox) state.inbox.delete(row.entry.id);
  const outbox = earliestFinished(state.outbox.peekValues(), (row) => row.finishedAt, before, limit);
  for (const row of outbox) {
    state.outbox.delete(row.entry.id);
    state.outboxKeys.delete(outboxKeyOf(row.tenantId, row.entry.idempotencyKey));
  }
  const prunedIds = new Set(outbox.map((row) => row.entry.id));
  const unlinked = [...state.reminders.peekValues()].filter(
    (row) => row.reminder.outboxId !== undefined && prunedIds.has(row.reminder.outboxId),
  );
  for (const { reminder } of unlinked) {
    const row = state.reminders.get(reminder.id)!;
    const { outboxId: _pruned, ...kept } = row.reminder;
    row.reminder = kept;
  }
  return { inbox: inbox.length, outbox: outbox.length };
};

const templateStore = (tenantId: TenantId, state: State): TemplateStore => {
  const key = (purpose: string, language: string) => `${tenantId}|${purpose}|${language}`;
  const withoutTenant = ({
    tenantId: _tenant,
    ...template
  }: RegisteredTemplate & { readonly tenantId: TenantId }): RegisteredTemplate => template;
  return {
    upsert: (template) => {
      state.templates.set(key(template.purpose, template.language), { ...template, tenantId });
      return okAsync(undefined);
    },
    find: (purpose, language) => {
      const found =
        state.templates.get(key(purpose, language)) ??
        state.templates.get(key(purpose, language.split('_')[0] ?? language));
      return okAsync(found === undefined ? undefined : withoutTenant(found));
    },
    list: () =>
      okAsync(
        [...state.templates.peekValues()]
          .filter((template) => template.tenantId === tenantId)
          .map(withoutTenant),
      ),
  };
};

const flowKeyStore = (tenantId: TenantId, state: State): FlowKeyStore => ({
  add: (key, at) => {
    if (key.phoneNumberId !== undefined && ownNumber(tenantId, state, key.phoneNumberId) === undefined) {
      return errAsync(storageError('constraint', `number ${key.phoneNumberId} is not this tenant's`));
    }
    if (state.flowKeys.has(key.id)) return errAsync(storageError('duplicate', `flow key ${key.id} exists`));
    for (const [id, stored] of state.flowKeys) {
      if (
        stored.tenantId === tenantId &&
        stored.phoneNumberId === key.phoneNumberId &&
        stored.retiredAt === undefined
      ) {
        state.flowKeys.set(id, { ...stored, retiredAt: at });
      }
    }
    state.flowKeys.set(key.id, { ...key, tenantId });
    return okAsync(undefined);
  },
  list: () =>
    okAsync(
      [...state.flowKeys.peekValues()]
        .filter((key) => key.tenantId === tenantId)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map(({ tenantId: _tenant, ...key }) => key),
    ),
});

const profileStore = (tenantId: TenantId, state: State): ContactProfileStore => ({
  get: (contactId) => {
    const contact = state.contacts.get(contactId);
    if (contact?.tenantId !== tenantId) return okAsync(undefined);
    const stored = state.profiles.get(contactId);
    return okAsync({
      ...(contact.name === undefined ? {} : { name: contact.name }),
      ...(stored?.email === undefined ? {} : { email: stored.email }),
      ...(stored?.bankDetails === undefined ? {} : { bankDetails: stored.bankDetails }),
    });
  },
  save: (contactId, profile) => {
    const contact = state.contacts.get(contactId);
    if (contact?.tenantId !== tenantId) {
      return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
    }
    if (profile.name !== undefined) state.contacts.set(contactId, { ...contact, name: profile.name });
    const chosenName = profile.name ?? state.profiles.get(contactId)?.name;
    state.profiles.set(contactId, {
      tenantId,
      // Remembered as the person's own choice, which later WhatsApp profile names do not replace.
      ...(chosenName === undefined ? {} : { name: chosenName }),
      ...(profile.email === undefined ? {} : { email: profile.email }),
      ...(profile.bankDetails === undefined ? {} : { bankDetails: profile.bankDetails }),
    });
    return okAsync(undefined);
  },
});

const storeFactories: {
  readonly [K in keyof TenantRepositories]: (tenantId: TenantId, state: State) => TenantRepositories[K];
} = {
  tenant: tenantStore,
  numbers: numberStore,
  contacts: contactStore,
  inbox: inboxStore,
  outbox: outboxStore,
  messages: messageLog,
  agreements: agreementStore,
  conversations: conversationStore,
  reminders: reminderStore,
  templates: templateStore,
  flowKeys: flowKeyStore,
  profiles: profileStore,
};
