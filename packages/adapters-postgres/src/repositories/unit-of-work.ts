import {
  type StorageError,
  storageError,
  type TenantRepositories,
  type TenantSection,
  type TenantUnitOfWork,
} from '@prestabot/application';
import { parseTenantId, type Result, type ResultAsync, type TenantId } from '@prestabot/domain';
import { tenantScope } from '../sql/scopes.ts';
import type { SqlDriver, SqlSession, TransactionSettings } from '../sql/sql-driver.ts';
import { PostgresAgreementStore } from './agreement-store.ts';
import { PostgresContactProfileStore } from './contact-profile-store.ts';
import { PostgresContactStore } from './contact-store.ts';
import { PostgresConversationStore } from './conversation-store.ts';
import { PostgresFlowKeyStore } from './flow-key-store.ts';
import { PostgresInboxStore } from './inbox-store.ts';
import { PostgresMessageLog } from './message-log.ts';
import { PostgresNumberStore } from './number-store.ts';
import { PostgresOutboxStore } from './outbox-store.ts';
import { PostgresReminderStore } from './reminder-store.ts';
import { PostgresSealedSecretStore } from './sealed-secret-store.ts';
import { PostgresTemplateStore } from './template-store.ts';
import { PostgresTenantStore } from './tenant-store.ts';

/** Every repository over one transaction's session; row-level security keeps them to its tenant. */
export const tenantRepositoriesOf = (session: SqlSession): TenantRepositories => ({
  tenant: new PostgresTenantStore(session),
  numbers: new PostgresNumberStore(session),
  contacts: new PostgresContactStore(session),
  inbox: new PostgresInboxStore(session),
  outbox: new PostgresOutboxStore(session),
  messages: new PostgresMessageLog(session),
  agreements: new PostgresAgreementStore(session),
  conversations: new PostgresConversationStore(session),
  reminders: new PostgresReminderStore(session),
  templates: new PostgresTemplateStore(session),
  flowKeys: new PostgresFlowKeyStore(session),
  profiles: new PostgresContactProfileStore(session),
  secrets: new PostgresSealedSecretStore(session),
});

/**
 * One transaction per unit of work, acting as the application role with row-level security scoped to the
 * tenant: BEGIN and the scope in one round trip, the repositories' statements, then COMMIT (or ROLLBACK).
 */
export class PostgresUnitOfWork implements TenantUnitOfWork {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  run<T, E>(
    tenantId: TenantId,
    work: (repositories: TenantRepositories) => ResultAsync<T, E>,
  ): ResultAsync<T, E | StorageError> {
    return scopeOf(tenantId).asyncAndThen((scope) =>
      this.#driver.transaction((session) => work(tenantRepositoriesOf(session)), scope),
    );
  }
}

/** Sections of a shared transaction, each under its tenant's scope (see `SqlSession.section`). */
export const tenantSectionOf =
  (session: SqlSession): TenantSection =>
  (tenantId, work) =>
    scopeOf(tenantId).asyncAndThen((scope) =>
      session.section(scope, (scoped) => work(tenantRepositoriesOf(scoped))),
    );

// Parsed, because the id goes into the settings that scope row-level security.
const scopeOf = (tenantId: TenantId): Result<TransactionSettings, StorageError> =>
  parseTenantId(tenantId)
    .map(tenantScope)
    .mapErr(() => storageError('constraint', 'a unit of work was asked for a tenant id that is not a UUID'));
