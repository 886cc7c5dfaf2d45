import type { FlowKeyDirectory } from '../flows/flow-stores.port.ts';
import type { ReminderQueue } from '../loans/loan-stores.port.ts';
import type { FinishedWorkRetention } from './finished-work-retention.port.ts';
import type { InboxQueue } from './inbox.port.ts';
import type { LeaseRenewal } from './lease-renewal.port.ts';
import type { OutboxQueue } from './outbox.port.ts';
import type { AppRegistry, TenantDirectory } from './tenant-directory.port.ts';
import type { TenantUnitOfWork } from './unit-of-work.port.ts';
import type { UsageLedger } from './usage-ledger.port.ts';

/**
 * Every storage port at once: what a deployment keeps its data in. PostgreSQL (or PGlite) provides it; so
 * may any other implementation that passes the storage contract suites in `@prestabot/application/testing`.
 */
export type StoragePorts = {
  readonly unitOfWork: TenantUnitOfWork;
  readonly directory: TenantDirectory;
  readonly apps: AppRegistry;
  readonly inboxQueue: InboxQueue;
  readonly outboxQueue: OutboxQueue;
  readonly reminderQueue: ReminderQueue;
  readonly leaseRenewal: LeaseRenewal;
  readonly flowKeyDirectory: FlowKeyDirectory;
  readonly finishedWorkRetention: FinishedWorkRetention;
  readonly usageLedger: UsageLedger;
};
