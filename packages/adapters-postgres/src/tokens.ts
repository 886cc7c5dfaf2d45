import type {
  AppRegistry,
  FinishedWorkRetention,
  FlowKeyDirectory,
  InboxQueue,
  LeaseRenewal,
  OutboxQueue,
  ReminderQueue,
  SecretCipher,
  StoragePorts,
  TenantDirectory,
  TenantUnitOfWork,
  Token,
  UsageLedger,
} from '@prestabot/application';
import { portTokens } from '@prestabot/application';
import type { ServiceIdentifier } from 'inversify';

const sameAs = <T>(token: Token<T>): ServiceIdentifier<T> => token;

/**
 * Where this package's module binds what it provides. The ports use the application's own tokens, so a
 * composition root resolves them by the names the application gives them; the storage is this adapter's.
 */
export const postgresTokens = {
  unitOfWork: sameAs<TenantUnitOfWork>(portTokens.unitOfWork),
  tenantDirectory: sameAs<TenantDirectory>(portTokens.tenantDirectory),
  appRegistry: sameAs<AppRegistry>(portTokens.appRegistry),
  inboxQueue: sameAs<InboxQueue>(portTokens.inboxQueue),
  outboxQueue: sameAs<OutboxQueue>(portTokens.outboxQueue),
  reminderQueue: sameAs<ReminderQueue>(portTokens.reminderQueue),
  leaseRenewal: sameAs<LeaseRenewal>(portTokens.leaseRenewal),
  flowKeyDirectory: sameAs<FlowKeyDirectory>(portTokens.flowKeyDirectory),
  finishedWorkRetention: sameAs<FinishedWorkRetention>(portTokens.finishedWorkRetention),
  usageLedger: sameAs<UsageLedger>(portTokens.usageLedger),
  secretCipher: sameAs<SecretCipher>(portTokens.secretCipher),
  /** The storage whose ports these are. */
  storage: Symbol.for('prestabot.PostgresStorage') as ServiceIdentifier<StoragePorts>,
} as const;
