import type { ResultAsync, TenantId } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { ContactProfileStore, FlowKeyStore } from '../flows/flow-stores.port.ts';
import type {
  AgreementStore,
  ConversationStore,
  ReminderStore,
  TemplateStore,
} from '../loans/loan-stores.port.ts';
import type { ContactStore } from './contact-store.port.ts';
import type { InboxStore } from './inbox.port.ts';
import type { MessageLog } from './message-log.port.ts';
import type { NumberStore } from './number-store.port.ts';
import type { OutboxStore } from './outbox.port.ts';
import type { SealedSecretStore } from './sealed-secret-store.port.ts';
import type { TenantStore } from './tenant-store.port.ts';

/** Every repository, scoped to one tenant: nothing reachable through them belongs to another tenant. */
export type TenantRepositories = {
  readonly tenant: TenantStore;
  readonly numbers: NumberStore;
  readonly contacts: ContactStore;
  readonly inbox: InboxStore;
  readonly outbox: OutboxStore;
  readonly messages: MessageLog;
  readonly agreements: AgreementStore;
  readonly conversations: ConversationStore;
  readonly reminders: ReminderStore;
  readonly templates: TemplateStore;
  readonly flowKeys: FlowKeyStore;
  readonly profiles: ContactProfileStore;
  readonly secrets: SealedSecretStore;
};

/**
 * Runs work for one tenant atomically: all of its writes happen, or none (an `Err` result or a thrown
 * bug rolls everything back).
 */
export interface TenantUnitOfWork {
  run<T, E>(
    tenantId: TenantId,
    work: (repositories: TenantRepositories) => ResultAsync<T, E>,
  ): ResultAsync<T, E | StorageError>;
}

/**
 * One tenant's part of a transaction several tenants share: `work` runs with that tenant's repositories,
 * and should it fail (an `Err` result, a failed statement, a thrown bug) only its own writes are undone.
 * Sections run one at a time.
 */
export type TenantSection = <T, E>(
  tenantId: TenantId,
  work: (repositories: TenantRepositories) => ResultAsync<T, E>,
) => ResultAsync<T, E | StorageError>;
