import {
  type Agreement,
  type Contact,
  err,
  okAsync,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  type TenantId,
} from '@prestabot/domain';
import { type StorageError, storageError } from '../errors.ts';
import type { Reminder } from '../loans/loan-stores.port.ts';
import type { StorageHarness } from './contracts/storage-harness.ts';
import {
  inMemoryAppRegistry,
  inMemoryFlowKeyDirectory,
  inMemoryTenantDirectory,
} from './in-memory/directory.ts';
import type { InboxEntryView, OutboundMessageView, OutboxMessageView } from './in-memory/inspection.ts';
import * as inspect from './in-memory/inspection.ts';
import {
  inMemoryFinishedWorkRetention,
  inMemoryInboxQueue,
  inMemoryLeaseRenewal,
  inMemoryOutboxQueue,
  inMemoryReminderQueue,
} from './in-memory/queues.ts';
import { emptyState, type State, type StateAccess } from './in-memory/state.ts';
import { inMemoryUnitOfWork } from './in-memory/unit-of-work.ts';
import { inMemoryUsageLedger } from './in-memory/usage-ledger.ts';

/**
 * Every storage port in memory, with the semantics the PostgreSQL adapter has: tenant scoping on every
 * read and write, atomic units of work (a failed one leaves no trace), unique keys, leases, paced claims.
 * Units of work run one at a time. Each port lives in `in-memory/`, in the file named as its adapter's.
 */
export class InMemoryDatabase {
  readonly #state: State = emptyState();
  #queue: Promise<unknown> = Promise.resolve();
  #unavailable = false;
  readonly #access: StateAccess = {
    read: (read) => this.#transaction((state) => okAsync(read(state))),
    transaction: (work) => this.#transaction(work),
  };

  readonly unitOfWork = inMemoryUnitOfWork(this.#access);
  readonly directory = inMemoryTenantDirectory(this.#access);
  readonly apps = inMemoryAppRegistry(this.#access);
  readonly inboxQueue = inMemoryInboxQueue(this.#access);
  readonly flowKeyDirectory = inMemoryFlowKeyDirectory(this.#access);
  readonly reminderQueue = inMemoryReminderQueue(this.#access);
  readonly leaseRenewal = inMemoryLeaseRenewal(this.#access);
  readonly finishedWorkRetention = inMemoryFinishedWorkRetention(this.#access);
  readonly usageLedger = inMemoryUsageLedger(this.#access);
  readonly outboxQueue = inMemoryOutboxQueue(this.#access);

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
}
