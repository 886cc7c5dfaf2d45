import type {
  ClaimedInboxEntry,
  ClaimedReminder,
  ClaimedSend,
  FinishedWorkRetention,
  InboxClaimRequest,
  InboxQueue,
  OutboxClaimRequest,
  OutboxQueue,
  PrunedRows,
  QueueDepth,
  ReminderQueue,
  StorageError,
} from '@prestabot/application';
import { sendRateShare } from '@prestabot/application';
import { okAsync, type ResultAsync } from '@prestabot/domain';
import {
  claimedInboxRow,
  claimedReminderRow,
  claimedSendRow,
  prunedRowsRow,
  queueDepthRow,
  readRow,
  readRows,
  reminderColumnsSql,
} from './rows.ts';
import { callCrossTenant } from './sql/scopes.ts';
import type { SqlDriver } from './sql/sql-driver.ts';

/** The worker's view of every tenant's inbox, through `prestabot.claim_inbox` and `prestabot.inbox_depth`. */
export class PostgresInboxQueue implements InboxQueue {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  claim(request: InboxClaimRequest): ResultAsync<readonly ClaimedInboxEntry[], StorageError> {
    if (request.limit <= 0 || request.ids?.length === 0) return okAsync([]);
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.claim_inbox($1, $2, $3, $4, $5::uuid[])', [
      request.owner,
      request.limit,
      request.leaseMs,
      request.now,
      request.ids ?? null,
    ]).andThen(readRows(claimedInboxRow, 'claimed inbox'));
  }

  depth(now: Date): ResultAsync<QueueDepth, StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.inbox_depth($1)', [now]).andThen(
      readRow(queueDepthRow, 'inbox depth'),
    );
  }
}

/** The worker's view of every tenant's outbox, through `prestabot.claim_outbox` and `prestabot.outbox_depth`. */
export class PostgresOutboxQueue implements OutboxQueue {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  claim(request: OutboxClaimRequest): ResultAsync<readonly ClaimedSend[], StorageError> {
    if (request.limit <= 0) return okAsync([]);
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.claim_outbox($1, $2, $3, $4, $5, $6)', [
      request.owner,
      request.limit,
      request.leaseMs,
      request.now,
      request.horizonMs,
      sendRateShare,
    ]).andThen(readRows(claimedSendRow, 'claimed send'));
  }

  depth(now: Date): ResultAsync<QueueDepth, StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.outbox_depth($1)', [now]).andThen(
      readRow(queueDepthRow, 'outbox depth'),
    );
  }
}

/** The worker's view of every tenant's due reminders, through `prestabot.claim_reminders`. */
export class PostgresReminderQueue implements ReminderQueue {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  claimDue(request: {
    readonly owner: string;
    readonly now: Date;
    readonly limit: number;
    readonly leaseMs: number;
  }): ResultAsync<readonly ClaimedReminder[], StorageError> {
    if (request.limit <= 0) return okAsync([]);
    return callCrossTenant(
      this.#driver,
      `SELECT ${reminderColumnsSql}, tenant_id, lease_owner, leased_until
       FROM prestabot.claim_reminders($1, $2, $3, $4)`,
      [request.owner, request.limit, request.leaseMs, request.now],
    ).andThen(readRows(claimedReminderRow, 'claimed reminder'));
  }
}

/** The retention job's view of every tenant's finished queue rows, through `prestabot.prune_finished`. */
export class PostgresFinishedWorkRetention implements FinishedWorkRetention {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  pruneFinished(before: Date, limit: number): ResultAsync<PrunedRows, StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.prune_finished($1, $2)', [
      before,
      limit,
    ]).andThen(readRow(prunedRowsRow, 'pruned rows'));
  }
}
