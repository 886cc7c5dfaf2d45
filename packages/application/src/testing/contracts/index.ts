import { describeContactStoreContract } from './contact-store.contract.ts';
import { describeTenantDirectoryContract } from './directory.contract.ts';
import { describeFinishedWorkRetentionContract } from './finished-work-retention.contract.ts';
import { describeFlowStoresContract } from './flow-stores.contract.ts';
import { describeInboxContract } from './inbox.contract.ts';
import { describeLeaseRenewalContract } from './lease-renewal.contract.ts';
import { describeLoanStoresContract } from './loan-stores.contract.ts';
import { describeMessageLogContract } from './message-log.contract.ts';
import { describeMessagingLimitsContract } from './messaging-limits.contract.ts';
import { describeOutboxClaimContract } from './outbox-claim.contract.ts';
import { describeOutboxOutcomesContract } from './outbox-outcomes.contract.ts';
import { describeSealedSecretStoreContract } from './sealed-secret-store.contract.ts';
import type { StorageHarnessFactory } from './storage-harness.ts';
import { describeTemplateStoreContract } from './template-store.contract.ts';
import { describeTenantAndNumberStoreContract } from './tenant-store.contract.ts';
import { describeUnitOfWorkContract } from './unit-of-work.contract.ts';
import { describeUsageLedgerContract } from './usage-ledger.contract.ts';

export { seedLoan } from './loan-stores.contract.ts';
export { maxInAnySecond } from './max-in-any-second.ts';
export * from './storage-harness.ts';
export {
  describeContactStoreContract,
  describeFinishedWorkRetentionContract,
  describeFlowStoresContract,
  describeInboxContract,
  describeLeaseRenewalContract,
  describeLoanStoresContract,
  describeMessageLogContract,
  describeMessagingLimitsContract,
  describeOutboxClaimContract,
  describeOutboxOutcomesContract,
  describeSealedSecretStoreContract,
  describeTemplateStoreContract,
  describeTenantAndNumberStoreContract,
  describeTenantDirectoryContract,
  describeUnitOfWorkContract,
  describeUsageLedgerContract,
};

/** Every storage port's contract suite, for one implementation. */
export const describeStorageContracts = (implementation: string, factory: StorageHarnessFactory): void => {
  describeTenantAndNumberStoreContract(implementation, factory);
  describeTenantDirectoryContract(implementation, factory);
  describeContactStoreContract(implementation, factory);
  describeUnitOfWorkContract(implementation, factory);
  describeInboxContract(implementation, factory);
  describeOutboxClaimContract(implementation, factory);
  describeOutboxOutcomesContract(implementation, factory);
  describeMessagingLimitsContract(implementation, factory);
  describeLeaseRenewalContract(implementation, factory);
  describeMessageLogContract(implementation, factory);
  describeLoanStoresContract(implementation, factory);
  describeTemplateStoreContract(implementation, factory);
  describeFlowStoresContract(implementation, factory);
  describeFinishedWorkRetentionContract(implementation, factory);
  describeUsageLedgerContract(implementation, factory);
  describeSealedSecretStoreContract(implementation, factory);
};
