import type { SecretCipher, StoragePorts } from '@prestabot/application';
import { ContainerModule, type ContainerModuleLoadOptions, type ServiceIdentifier } from 'inversify';
import { postgresTokens } from './tokens.ts';

/**
 * Binds an open storage's ports (and the cipher, when given) for a composition root: this package's
 * storage, or any other that passes the storage contract suites. The host creates the
 * storage, and closes it: creating it is asynchronous and may fail, which resolving a binding should not.
 */
export const postgresStorageModule = (storage: StoragePorts, cipher?: SecretCipher): ContainerModule =>
  new ContainerModule(({ bind }: ContainerModuleLoadOptions) => {
    const constant = <T>(id: ServiceIdentifier<T>, value: T) => bind<T>(id).toConstantValue(value);
    constant(postgresTokens.storage, storage);
    constant(postgresTokens.unitOfWork, storage.unitOfWork);
    constant(postgresTokens.tenantDirectory, storage.directory);
    constant(postgresTokens.appRegistry, storage.apps);
    constant(postgresTokens.inboxQueue, storage.inboxQueue);
    constant(postgresTokens.outboxQueue, storage.outboxQueue);
    constant(postgresTokens.reminderQueue, storage.reminderQueue);
    constant(postgresTokens.leaseRenewal, storage.leaseRenewal);
    constant(postgresTokens.flowKeyDirectory, storage.flowKeyDirectory);
    constant(postgresTokens.finishedWorkRetention, storage.finishedWorkRetention);
    constant(postgresTokens.usageLedger, storage.usageLedger);
    if (cipher !== undefined) constant(postgresTokens.secretCipher, cipher);
  });
