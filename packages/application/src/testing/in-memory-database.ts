import {
  type Agreement,
  type AgreementId,
  advanceStatus,
  type Contact,
  type ContactId,
  compareLocalDates,
  defined,
  err,
  errAsync,
  formatIsoDate,
  isFinal,
  type LocalDate,
  okAsync,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  type TenantId,
  type WhatsAppNumber,
} from '@prestabot/domain';
import { type StorageError, storageError } from '../errors.ts';
import type { ContactProfileStore, FlowKeyDirectory, FlowKeyStore } from '../flows/flow-stores.port.ts';
import type {
  AgreementStore,
  ClaimedReminder,
  ConversationStore,
  RegisteredTemplate,
  Reminder,
  ReminderQueue,
  ReminderStore,
  TemplateStore,
} from '../loans/loan-stores.port.ts';
import type { ContactIdentity, ContactStore } from '../ports/contact-store.port.ts';
import type { FinishedWorkRetention, PrunedRows } from '../ports/finished-work-retention.port.ts';
import type { InboxQueue, InboxStore, Lease, QueueDepth } from '../ports/inbox.port.ts';
import type { LeaseRenewal } from '../ports/lease-renewal.port.ts';
import type { MessageLog } from '../ports/message-log.port.ts';
import { type NumberStore, tokenStatusOf } from '../ports/number-store.port.ts';
import type { OutboxQueue, OutboxStore } from '../ports/outbox.port.ts';
import type { SealedSecretStore } from '../ports/sealed-secret-store.port.ts';
import { type SealedSecret, type SecretPlace, secretPlaces } from '../ports/secret-cipher.port.ts';
import type { AppRegistry, NumberRoute, TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { TenantStore } from '../ports/tenant-store.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { UsageLedger } from '../ports/usage-ledger.port.ts';
import type { StorageHarness } from './contracts/storage-harness.ts';
import { applyStatuses, claimInbox, inboxKeyOf, storeInbox } from './in-memory/inbox-queue.ts';
import type { InboxEntryView, OutboundMessageView, OutboxMessageView } from './in-memory/inspection.ts';
import * as inspect from './in-memory/inspection.ts';
import { renewLeases } from './in-memory/lease-renewal.ts';
import {
  messagingLimitOf,
  messagingLimitRoom,
  releaseHeldOnRaisedLimit,
} from './in-memory/messaging-limits.ts';
import { claimOutbox, leaseSends, recordSends } from './in-memory/outbox-queue.ts';
import {
  emptyState,
  holdsLease,
  leaseActive,
  type NumberRow,
  outboxEntryOf,
  outboxKeyOf,
  pendingOutboxRows,
  type State,
} from './in-memory/state.ts';
import { usageOf } from './in-memory/usage-ledger.ts';

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
    findWabaNumbers: (wabaId) =>
      this.#read((state) =>
        [...state.numbers.values()]
          .filter((row) => row.wabaId === wabaId)
          .flatMap((row) => routeOf(state, row.phoneNumberId) ?? []),
      ),
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
    store: (request) => this.#transaction((state) => okAsync(storeInbox(state, request))),
    claim: (request) => this.#transaction((state) => okAsync(claimInbox(state, request))),
    applyStatuses: (request) => this.#transaction((state) => okAsync(applyStatuses(state, request))),
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
      leaseRenewal: this.leaseRenewal,
      flowKeyDirectory: this.flowKeyDirectory,
      finishedWorkRetention: this.finishedWorkRetention,
      usageLedger: this.usageLedger,
      close: async () => {},
    };
  }

  readonly reminderQueue: ReminderQueue = {
    claimDue: (request) => this.#transaction((state) => okAsync(claimReminders(state, request))),
  };
  readonly leaseRenewal: LeaseRenewal = {
    renew: (request) => this.#transaction((state) => okAsync(renewLeases(state, request))),
  };
  readonly finishedWorkRetention: FinishedWorkRetention = {
    pruneFinished: (before, limit) =>
      this.#transaction((state) => okAsync(pruneFinished(state, before, limit))),
  };
  readonly usageLedger: UsageLedger = {
    usage: (query) => this.#read((state) => usageOf(state, query)),
  };
  readonly outboxQueue: OutboxQueue = {
    claim: (request) => this.#transaction((state) => okAsync(claimOutbox(state, request))),
    lease: (request) => this.#transaction((state) => okAsync(leaseSends(state, request))),
    record: (records) => this.#transaction((state) => okAsync(recordSends(state, records))),
    depth: (now) =>
      this.#read((state) => {
        const pending = pendingOutboxRows(state);
        const held = pending.filter((row) => row.limitHeldAt !== undefined && row.availableAt > now).length;
        return { ...depthOf(pending, now), held };
      }),
  };

  /** Simulates the database being down: every call fails with `unavailable` until switched back. */
  setUnavailable(unavailable: boolean): void {
    this.#unavailable = unavailable;
  }

  // What tests see that no port shows: copies, across tenants unless one is named (see `inspection.ts`).

  inboxEntries(tenantId?: TenantId): readonly InboxEntryView[] {
    return inspect.inboxEntries(this.#state, tenantId);
  }

  inboxEntry(id: string): InboxEntryView | undefined {
    return inspect.inboxEntry(this.#state, id);
  }

  outboxMessages(tenantId?: TenantId): readonly OutboxMessageView[] {
    return inspect.outboxMessages(this.#state, tenantId);
  }

  outboxMessage(id: string): OutboxMessageView | undefined {
    return inspect.outboxMessage(this.#state, id);
  }

  outboundMessages(tenantId?: TenantId): readonly OutboundMessageView[] {
    return inspect.outboundMessages(this.#state, tenantId);
  }

  contacts(tenantId?: TenantId): readonly Contact[] {
    return inspect.contacts(this.#state, tenantId);
  }

  agreements(tenantId?: TenantId): readonly Agreement[] {
    return inspect.agreements(this.#state, tenantId);
  }

  reminders(tenantId?: TenantId): readonly Reminder[] {
    return inspect.reminders(this.#state, tenantId);
  }

  reportedMessagingLimit(phoneNumberId: PhoneNumberId): number | 'unlimited' | undefined {
    return inspect.reportedMessagingLimit(this.#state, phoneNumberId);
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
  tokenStatus: tokenStatusOf(
    { kind: row.token.kind, length: row.token.kind === 'sealed' ? row.token.length : 0 },
    row.invalid,
  ),
  ratePerSecond: row.ratePerSecond,
  ...defined({ displayPhoneNumber: row.displayPhoneNumber }),
  ...defined({ appId: row.appId }),
  ...defined({ ratePinned: row.ratePinned }),
  ...(row.meta === undefined
    ? {}
    : { meta: { ...row.meta, messagingLimit: row.reportedLimit ?? row.meta.messagingLimit } }),
  ...defined({ qualityFlagged: row.qualityFlagged }),
});

const depthOf = (rows: readonly { readonly availableAt: Date }[], now: Date): QueueDepth => {
  const due = rows.filter((row) => row.availableAt <= now);
  const oldest = due.reduce<Date | undefined>(
    (min, row) => (min === undefined || row.availableAt < min ? row.availableAt : min),
    undefined,
  );
  return { pending: due.length, ...defined({ oldestAt: oldest }) };
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
    for (const held of state.outbox.values())
      if (
        held.entry.phoneNumberId === phoneNumberId &&
        held.status === 'pending' &&
        held.lastFailure?.reason === 'token_invalid'
      )
        held.availableAt = held.entry.notBefore;
    return okAsync(true);
  },
  recordAccountEvent: (phoneNumberId, { qualityFlagged, messagingLimit }) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(false);
    if (qualityFlagged === true) row.qualityFlagged = true;
    if (qualityFlagged === false) delete row.qualityFlagged;
    if (messagingLimit !== undefined) {
      const previous = messagingLimitOf(row);
      row.reportedLimit = messagingLimit;
      releaseHeldOnRaisedLimit(state, row, previous);
    }
    return okAsync(true);
  },
  recordMetaView: (phoneNumberId, view, { ratePerSecond, syncedAt }) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(undefined);
    const previous = messagingLimitOf(row);
    row.meta = { ...view, syncedAt };
    delete row.reportedLimit;
    releaseHeldOnRaisedLimit(state, row, previous);
    if (ratePerSecond !== undefined && row.ratePinned === undefined) row.ratePerSecond = ratePerSecond;
    return okAsync(numberOf(row));
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
    complete: (entries, at) => {
      const rows = entries.map(({ id, lease }) => leased(id, lease));
      for (const row of rows) {
        if (row === undefined) continue;
        row.processedAt = at;
        delete row.lease;
      }
      return okAsync(rows.every((row) => row !== undefined));
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

const outboxStore = (tenantId: TenantId, state: State): OutboxStore => {
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
    messagingLimitRoom: (phoneNumberId, recipient, now) =>
      okAsync(messagingLimitRoom(state, tenantId, phoneNumberId, recipient, now)),
  };
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
  outbound: (wamid) => {
    const row = state.outbound.get(`${tenantId}|${wamid}`);
    return okAsync(
      row === undefined
        ? undefined
        : {
            current: row.status,
            outboxId: row.outboxId,
            origin: row.origin,
            ...defined({ contactId: row.contactId }),
            ...defined({ error: row.error }),
          },
    );
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
    state.heldRequests.delete(agreement.id);
    return okAsync(true);
  },
  holdRequest: (id, at) => {
    if (ownAgreement(tenantId, state, id) !== undefined && !state.heldRequests.has(id))
      state.heldRequests.set(id, at);
    return okAsync(undefined);
  },
  takeHeldRequests: (contactId) => {
    const held = [...state.heldRequests.keys()]
      .map((id) => ({ agreement: ownAgreement(tenantId, state, id), heldAt: state.heldRequests.get(id)! }))
      .filter(
        (row): row is { agreement: Agreement; heldAt: Date } =>
          row.agreement !== undefined && asksNow(row.agreement, contactId),
      )
      .sort((a, b) => a.heldAt.getTime() - b.heldAt.getTime() || (a.agreement.id < b.agreement.id ? -1 : 1));
    for (const { agreement } of held) state.heldRequests.delete(agreement.id);
    return okAsync(held.map(({ agreement }) => agreement));
  },
});

/** The loan's open request asks this contact: to confirm it as borrower, or to confirm its return as lender. */
const asksNow = (agreement: Agreement, contactId: ContactId): boolean =>
  agreement.status === 'pending_confirmation'
    ? agreement.borrowerId === contactId
    : agreement.status === 'active' &&
      agreement.returnClaimedAt !== undefined &&
      agreement.lenderId === contactId;

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
      row.attempts = (row.attempts ?? 0) + 1;
      return { ...row.reminder, tenantId: row.tenantId, lease: row.lease, attempts: row.attempts };
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
  for (const row of inbox) {
    state.inbox.delete(row.entry.id);
    state.inboxKeys.delete(inboxKeyOf(row.entry));
  }
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
    upsert: ({ stopped: _registeredAgain, ...template }) => {
      state.templates.set(key(template.purpose, template.language), { ...template, tenantId });
      return okAsync(undefined);
    },
    find: (purpose, language) => {
      const usable = (found: (RegisteredTemplate & { readonly tenantId: TenantId }) | undefined) =>
        found?.stopped === undefined ? found : undefined;
      const found =
        usable(state.templates.get(key(purpose, language))) ??
        usable(state.templates.get(key(purpose, language.split('_')[0] ?? language)));
      return okAsync(found === undefined ? undefined : withoutTenant(found));
    },
    recordMetaStatus: (name, language, stopped) => {
      let changed = 0;
      for (const [id, template] of state.templates) {
        if (template.tenantId !== tenantId || template.name !== name || template.language !== language)
          continue;
        const { stopped: _previous, ...rest } = template;
        state.templates.set(id, stopped === undefined ? rest : { ...rest, stopped });
        changed += 1;
      }
      return okAsync(changed);
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
  startGrace: (phoneNumberId, at) => {
    for (const [id, stored] of state.flowKeys) {
      if (
        stored.tenantId === tenantId &&
        stored.phoneNumberId === phoneNumberId &&
        stored.retiredAt !== undefined &&
        stored.graceFrom === undefined
      ) {
        state.flowKeys.set(id, { ...stored, graceFrom: at });
      }
    }
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
      ...defined({ name: contact.name }),
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
      ...defined({ name: chosenName }),
      ...defined({ email: profile.email }),
      ...defined({ bankDetails: profile.bankDetails }),
    });
    return okAsync(undefined);
  },
  recordSubmit: (contactId, tokenExpiresAt) => {
    if (state.contacts.get(contactId)?.tenantId !== tenantId) {
      return errAsync(storageError('constraint', `contact ${contactId} is not this tenant's`));
    }
    const recorded = state.profileSubmits.get(contactId);
    if (recorded !== undefined && recorded.getTime() >= tokenExpiresAt.getTime()) return okAsync(false);
    state.profileSubmits.set(contactId, tokenExpiresAt);
    return okAsync(true);
  },
});

const sameSealed = (a: SealedSecret | undefined, b: SealedSecret): boolean =>
  a?.keyId === b.keyId && a.ciphertext === b.ciphertext;

/** The tenant's sealed secrets across the tables that hold them, as the SQL store reads them. */
const sealedSecretStore = (tenantId: TenantId, state: State): SealedSecretStore => ({
  list: () =>
    okAsync([
      ...[...state.numbers.peekValues()].flatMap((row) =>
        row.tenantId === tenantId && row.token.kind === 'sealed'
          ? [{ place: secretPlaces.accessToken(tenantId, row.phoneNumberId), sealed: row.token.sealed }]
          : [],
      ),
      ...[...state.flowKeys.peekValues()].flatMap((key) =>
        key.tenantId === tenantId
          ? [{ place: secretPlaces.flowPrivateKey(tenantId, key.id), sealed: key.privateKey }]
          : [],
      ),
      ...[...state.profiles.keys()].flatMap((contactId) => {
        const profile = state.profiles.peek(contactId);
        return profile?.tenantId === tenantId && profile.bankDetails !== undefined
          ? [
              {
                place: secretPlaces.bankDetails(tenantId, contactId as ContactId),
                sealed: profile.bankDetails,
              },
            ]
          : [];
      }),
    ]),
  replace: (place, from, to) => {
    if (place.tenantId !== tenantId) return okAsync(false);
    const { table, column, rowId } = place;
    const is = (expected: SecretPlace) => expected.table === table && expected.column === column;
    if (is(secretPlaces.accessToken(tenantId, rowId as PhoneNumberId))) {
      const row = ownNumber(tenantId, state, rowId as PhoneNumberId);
      if (row?.token.kind !== 'sealed' || !sameSealed(row.token.sealed, from)) return okAsync(false);
      row.token = { ...row.token, sealed: to };
      return okAsync(true);
    }
    if (is(secretPlaces.flowPrivateKey(tenantId, rowId))) {
      const key = state.flowKeys.get(rowId);
      if (key?.tenantId !== tenantId || !sameSealed(key.privateKey, from)) return okAsync(false);
      state.flowKeys.set(rowId, { ...key, privateKey: to });
      return okAsync(true);
    }
    if (is(secretPlaces.bankDetails(tenantId, rowId as ContactId))) {
      const profile = state.profiles.get(rowId);
      if (profile?.tenantId !== tenantId || !sameSealed(profile.bankDetails, from)) return okAsync(false);
      state.profiles.set(rowId, { ...profile, bankDetails: to });
      return okAsync(true);
    }
    return okAsync(false);
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
  secrets: sealedSecretStore,
};
