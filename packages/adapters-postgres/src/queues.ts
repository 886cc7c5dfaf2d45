import type {
  AppliedStatus,
  ApplyStatusesRequest,
  ClaimedInboxEntry,
  ClaimedReminder,
  ClaimedSend,
  FinishedWorkRetention,
  InboxClaimRequest,
  InboxQueue,
  LeaseRenewal,
  LeaseRenewalRequest,
  Logger,
  OutboxClaimRequest,
  OutboxLeaseRequest,
  OutboxQueue,
  ProcessedWhileStored,
  PrunedRows,
  QueueDepth,
  ReminderQueue,
  SendRecord,
  StorageError,
  StoreAndProcessRequest,
  StoredAndProcessed,
  StoredInboxEntry,
  StoreInboxRequest,
  TenantSection,
} from '@prestabot/application';
import { sendRateShare, storageError, unansweredOf } from '@prestabot/application';
import { defined, errAsync, okAsync, ResultAsync } from '@prestabot/domain';
import type * as z from 'zod';
import { prunedRowsRow, queueDepthRow, reopenedRow } from './queues.row.ts';
import { appliedStatusRow, claimedInboxRow, storedInboxRow } from './repositories/inbox.row.ts';
import { claimedSendRow, recordedRow } from './repositories/outbox.row.ts';
import { claimedReminderRow, reminderColumnsSql } from './repositories/reminder.row.ts';
import { tenantSectionOf } from './repositories/unit-of-work.ts';
import { idRow, readEachRow, readRow, readRows } from './sql/read-rows.ts';
import { callCrossTenant, unscopedSection } from './sql/scopes.ts';
import type { SqlDriver, SqlRow, SqlSession } from './sql/sql-driver.ts';

/** The queues whose claims hand out rows read back from the database. */
type ClaimedQueue = 'inbox' | 'outbox' | 'reminders';

/**
 * Reads the rows a claim leased to `owner`, each on its own. A row this version cannot read is
 * quarantined (settled for good with the reason: a failed send, an abandoned inbox entry, a skipped
 * reminder) and logged, and the others are handed out: one bad row no longer fails the whole claim and
 * leaves every row of it leased. Readable rows cost nothing more; quarantine is a statement of its own, and
 * if it fails the bad rows simply come back when their lease runs out.
 */
const handOutReadable =
  <T>(
    driver: SqlDriver,
    logger: Logger | undefined,
    queue: ClaimedQueue,
    owner: string,
    schema: z.ZodType<T>,
    what: string,
  ) =>
  (rows: readonly SqlRow[]): ResultAsync<readonly T[], StorageError> => {
    const { read, unreadable } = readEachRow(schema, what)(rows);
    if (unreadable.length === 0) return okAsync(read);
    for (const row of unreadable)
      logger?.error(
        { queue, id: row.id, tenantId: row.tenantId, reason: row.reason },
        `unreadable ${what} quarantined; the rest of the claim is handed out`,
      );
    return callCrossTenant(driver, 'SELECT prestabot.quarantine_claimed($1, $2, $3::jsonb)', [
      queue,
      owner,
      JSON.stringify(unreadable.map(({ id, reason }) => ({ id, reason }))),
    ])
      .map(() => read)
      .orElse((error) => {
        logger?.error(
          { queue, ids: unreadable.map((row) => row.id), error: error.message },
          `could not quarantine unreadable ${what} rows; they come back when their lease runs out`,
        );
        return okAsync(read);
      });
  };

type Query = (text: string, params: readonly unknown[]) => ResultAsync<readonly SqlRow[], StorageError>;

/** `prestabot.record_send_outcomes`: what became of sends, all in one statement. */
const recordSends = (
  records: readonly SendRecord[],
  query: Query,
): ResultAsync<readonly boolean[], StorageError> => {
  if (records.length === 0) return okAsync([]);
  return query('SELECT * FROM prestabot.record_send_outcomes($1::jsonb)', [
    JSON.stringify(records.map((record, ordinal) => ({ ...sendRecordRow(record), ordinal }))),
  ]).andThen(readRows(recordedRow, 'recorded send'));
};

/**
 * `prestabot.reopen_inbox_entries`: entries a write stored done and did not answer, put back under their
 * lease and with their item (a row written done is stored without it). Every one must be: one left done
 * would be an entry never answered, so the write fails instead.
 * In a section that clears the tenant scope: a tenant's section that committed leaves its scope set for
 * the rest of the transaction, and the function refuses to run under one.
 */
const reopen = (
  entries: readonly ClaimedInboxEntry[],
  session: SqlSession,
): ResultAsync<void, StorageError> => {
  if (entries.length === 0) return okAsync(undefined);
  return session
    .section(unscopedSection, (unscoped) =>
      unscoped.query('SELECT prestabot.reopen_inbox_entries($1::jsonb) AS reopened', [
        JSON.stringify(
          entries.map(({ id, lease, item }) => ({
            id,
            lease_owner: lease.owner,
            leased_until: lease.until,
            item,
          })),
        ),
      ]),
    )
    .andThen(readRow(reopenedRow, 'reopened inbox entries'))
    .andThen(({ reopened }) =>
      reopened === entries.length
        ? okAsync(undefined)
        : errAsync(
            storageError(
              'unexpected',
              `${entries.length - reopened} of ${entries.length} inbox entries written done could not be put back`,
            ),
          ),
    );
};

/**
 * Every tenant's inbox: `prestabot.store_webhook_items` (the entries, and the pricing of statuses), `claim_inbox`, `apply_statuses` and `inbox_depth`, each
 * one round trip.
 */
export class PostgresInboxQueue implements InboxQueue {
  readonly #driver: SqlDriver;
  readonly #logger: Logger | undefined;

  constructor(driver: SqlDriver, logger?: Logger) {
    this.#driver = driver;
    this.#logger = logger;
  }

  store(request: StoreInboxRequest): ResultAsync<readonly StoredInboxEntry[], StorageError> {
    return this.#store(request, (text, params) => callCrossTenant(this.#driver, text, params), []);
  }

  /**
   * One transaction: the store function and the recording of `records` (functions that refuse a tenant
   * scope, so they come first; the recording behind a savepoint of its own, issued without waiting for the
   * store, so both take one round trip), then `process`, each section behind a savepoint as the
   * application role under its tenant's scope.
   */
  storeAndProcess<T>(
    request: StoreAndProcessRequest,
    process: (
      stored: readonly StoredInboxEntry[],
      section: TenantSection,
    ) => Promise<ProcessedWhileStored<T>>,
    records: readonly SendRecord[] = [],
  ): ResultAsync<StoredAndProcessed<T>, StorageError> {
    return this.#driver.transaction((session) => {
      const query = (text: string, params: readonly unknown[]) => session.query(text, params);
      const storing = this.#store(request, query, request.answering ?? []);
      // Undone on its own should it fail: the sends are then recorded elsewhere, and the entries still stored.
      const recording =
        records.length === 0
          ? okAsync<readonly boolean[] | undefined, never>([])
          : session
              .section({}, (unscoped) => recordSends(records, (text, params) => unscoped.query(text, params)))
              .orElse(() => okAsync(undefined));
      return storing.andThen((stored) =>
        recording.andThen((recorded) =>
          ResultAsync.fromSafePromise(process(stored, tenantSectionOf(session))).andThen(
            ({ result, answered }) =>
              reopen(unansweredOf(stored, request.answering, answered), session).map(() => ({
                stored,
                processed: result,
                ...defined({ recorded }),
              })),
          ),
        ),
      );
    });
  }

  #store(
    request: StoreInboxRequest,
    query: Query,
    answering: readonly string[],
  ): ResultAsync<readonly StoredInboxEntry[], StorageError> {
    const { entries, lease, now, followUps } = request;
    if (entries.length === 0) return okAsync([]);
    const rows = entries.map((entry, ordinal) => ({
      ordinal,
      id: entry.id,
      phone_number_id: entry.phoneNumberId,
      delivery_key: entry.deliveryKey,
      ordering_key: entry.orderingKey ?? null,
      kind: entry.item.kind,
      item: entry.item,
      item_time: entry.item.kind === 'message' ? entry.item.sentAt : entry.item.at,
      received_at: entry.receivedAt,
    }));
    return query('SELECT * FROM prestabot.store_webhook_items($1::jsonb, $2, $3, $4, $5, $6, $7::uuid[])', [
      JSON.stringify(rows),
      lease?.owner ?? null,
      lease?.leaseMs ?? 0,
      now,
      followUps.origins,
      followUps.statuses,
      answering,
    ])
      .andThen(readRows(storedInboxRow, 'stored inbox entry'))
      .map((stored) =>
        stored.map((row, index): StoredInboxEntry => {
          if (row.outcome !== 'stored') return { outcome: row.outcome };
          const entry = {
            ...entries[index]!,
            tenantId: row.tenant_id!,
            attempts: row.leased_until === null ? 0 : 1,
          };
          return {
            outcome: 'stored',
            entry:
              row.leased_until === null || lease === undefined
                ? entry
                : { ...entry, lease: { owner: lease.owner, until: row.leased_until } },
          };
        }),
      );
  }

  applyStatuses(request: ApplyStatusesRequest): ResultAsync<readonly AppliedStatus[], StorageError> {
    if (request.entries.length === 0) return okAsync([]);
    const statuses = request.entries.map(({ id, lease }, ordinal) => ({
      ordinal,
      entry_id: id,
      lease_owner: lease.owner,
      leased_until: lease.until,
    }));
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.apply_statuses($1::jsonb, $2, $3, $4)', [
      JSON.stringify(statuses),
      request.now,
      request.followUps.origins,
      request.followUps.statuses,
    ])
      .andThen(readRows(appliedStatusRow, 'applied status'))
      .map((rows) =>
        rows.map((row): AppliedStatus => {
          if (row.result === 'unknown' || row.result === 'lease_lost')
            return { entryId: row.entry_id, result: row.result };
          return {
            entryId: row.entry_id,
            result: row.result,
            message: {
              current: row.status ?? 'accepted',
              outboxId: row.outbox_id ?? '',
              origin: row.origin ?? { kind: 'notification' },
              ...(row.contact_id === null ? {} : { contactId: row.contact_id }),
            },
          };
        }),
      );
  }

  claim(request: InboxClaimRequest): ResultAsync<readonly ClaimedInboxEntry[], StorageError> {
    if (request.limit <= 0 || request.ids?.length === 0) return okAsync([]);
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.claim_inbox($1, $2, $3, $4, $5::uuid[])', [
      request.owner,
      request.limit,
      request.leaseMs,
      request.now,
      request.ids ?? null,
    ]).andThen(
      handOutReadable(this.#driver, this.#logger, 'inbox', request.owner, claimedInboxRow, 'claimed inbox'),
    );
  }

  depth(now: Date): ResultAsync<QueueDepth, StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.inbox_depth($1)', [now]).andThen(
      readRow(queueDepthRow, 'inbox depth'),
    );
  }
}

/** The heartbeat of a process's leases: `prestabot.renew_leases`, one statement per queue and batch of ids. */
export class PostgresLeaseRenewal implements LeaseRenewal {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  renew(request: LeaseRenewalRequest): ResultAsync<readonly string[], StorageError> {
    if (request.ids.length === 0) return okAsync([]);
    return callCrossTenant(
      this.#driver,
      'SELECT id FROM prestabot.renew_leases($1, $2, $3::uuid[], $4, $5) AS id',
      [request.queue, request.owner, request.ids, request.leaseMs, request.now],
    ).andThen(readRows(idRow, 'renewed lease'));
  }
}

/**
 * Every tenant's outbox: `prestabot.claim_outbox`, `lease_sends`, `record_send_outcomes` and `outbox_depth`,
 * each one round trip.
 */
export class PostgresOutboxQueue implements OutboxQueue {
  readonly #driver: SqlDriver;
  readonly #logger: Logger | undefined;

  constructor(driver: SqlDriver, logger?: Logger) {
    this.#driver = driver;
    this.#logger = logger;
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
    ]).andThen(
      handOutReadable(this.#driver, this.#logger, 'outbox', request.owner, claimedSendRow, 'claimed send'),
    );
  }

  lease(request: OutboxLeaseRequest): ResultAsync<readonly ClaimedSend[], StorageError> {
    if (request.ids.length === 0) return okAsync([]);
    return callCrossTenant(
      this.#driver,
      'SELECT * FROM prestabot.lease_sends($1::uuid[], $2, $3, $4, $5, $6)',
      [request.ids, request.owner, request.leaseMs, request.now, request.horizonMs, sendRateShare],
    ).andThen(
      handOutReadable(this.#driver, this.#logger, 'outbox', request.owner, claimedSendRow, 'leased send'),
    );
  }

  record(records: readonly SendRecord[]): ResultAsync<readonly boolean[], StorageError> {
    return recordSends(records, (text, params) => callCrossTenant(this.#driver, text, params));
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
  readonly #logger: Logger | undefined;

  constructor(driver: SqlDriver, logger?: Logger) {
    this.#driver = driver;
    this.#logger = logger;
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
      `SELECT ${reminderColumnsSql}, tenant_id, attempts, lease_owner, leased_until
       FROM prestabot.claim_reminders($1, $2, $3, $4)`,
      [request.owner, request.limit, request.leaseMs, request.now],
    ).andThen(
      handOutReadable(
        this.#driver,
        this.#logger,
        'reminders',
        request.owner,
        claimedReminderRow,
        'claimed reminder',
      ),
    );
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

/** A send's outcome as `prestabot.record_send_outcomes` reads it. */
const sendRecordRow = (record: SendRecord) => {
  const base = {
    id: record.id,
    lease_owner: record.lease.owner,
    leased_until: record.lease.until,
    kind: record.kind,
  };
  switch (record.kind) {
    case 'sent':
      return { ...base, at: record.at, wamid: record.wamid ?? null };
    case 'retry':
    case 'hold':
      return { ...base, retry_at: record.retryAt, failure: record.failure };
    case 'failed':
      return { ...base, at: record.at, failure: record.failure };
    case 'requeue':
      return base;
    case 'fallback':
      return { ...base, at: record.at };
    case 'token_invalid':
      return {
        ...base,
        at: record.at,
        retry_at: record.retryAt,
        failure: record.failure,
        error_code: record.errorCode,
        token_ciphertext: record.token.kind === 'sealed' ? record.token.sealed.ciphertext : null,
      };
  }
};
