import {
  defined,
  deliveryKeyOf,
  err,
  errAsync,
  type InboundMessage,
  type InboundStatus,
  ok,
  okAsync,
  type PhoneNumberId,
  type Result,
  ResultAsync,
  truncateCodePoints,
  type WebhookBatch,
  type WebhookItem,
} from '@prestabot/domain';
import { refusesTheData, type StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { ClaimedInboxEntry, NewInboxEntry, StoredInboxEntry } from '../ports/inbox.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { NumberRoute } from '../ports/tenant-directory.port.ts';
import type {
  SignatureError,
  WebhookParseError,
  WebhookParser,
  WebhookSignatureVerifier,
} from '../ports/webhook.port.ts';
import type { ResolveTenant } from '../resolve-tenant/resolve-tenant.ts';
import { addNumberHint } from '../resolve-tenant/resolve-tenant.ts';
import type { ApplyAccountEvents } from './apply-account-events.ts';
import type { WebhookSecrets } from './webhook-secrets.ts';

/** Meta sends webhook payloads of up to 3 MB. */
export const maxWebhookBytes = 3 * 1024 * 1024;

export type IngestWebhookInput = {
  readonly rawBody: Uint8Array;
  readonly signature: string | undefined;
};

export type IngestWebhookError =
  | { readonly type: 'payload_too_large'; readonly size: number; readonly limit: number }
  /** Neither an app secret nor `META_APP_SECRET` is configured: nothing can be verified. */
  | { readonly type: 'no_webhook_secret' }
  /** The payload is signed, but by an app that does not own one of the numbers it addresses. */
  | { readonly type: 'signature_app_mismatch'; readonly phoneNumberId: PhoneNumberId }
  | SignatureError
  | WebhookParseError
  | StorageError;

export type IngestWebhookOutput = {
  /** New entries this process holds under lease: process them right after the response. */
  readonly held: readonly ClaimedInboxEntry[];
  /** New items taken in: stored (held here or left for a worker's claim), or statuses applied at once. */
  readonly stored: number;
  readonly duplicates: number;
  readonly unknownNumbers: readonly PhoneNumberId[];
  readonly rejected: number;
  /** Items read, but refused by the database even alone: logged and counted, not stored. */
  readonly quarantined: number;
  /** Items older than the retention: acknowledged, not stored (a replay after pruning). */
  readonly stale: number;
};

/**
 * Where a webhook's items are stored before its 200: `InboxQueue.store` for any tenants at once, which the
 * runtime puts behind a group commit (webhooks that arrive together share one statement) and binds to this
 * process's lease.
 */
export type InboxIntake = {
  store(entries: readonly NewInboxEntry[]): ResultAsync<readonly StoredInboxEntry[], StorageError>;
};

export type IngestWebhookDependencies = {
  readonly resolveTenant: ResolveTenant;
  /** The app secrets a delivery may be signed with. */
  readonly secrets: WebhookSecrets;
  /** Quality and limit reports about the WABA's numbers (account webhook fields). */
  readonly accountEvents: Pick<ApplyAccountEvents, 'apply'>;
  readonly intake: InboxIntake;
  readonly verifier: WebhookSignatureVerifier;
  readonly parser: WebhookParser;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * `PRESTABOT_RETENTION_DAYS`: finished inbox entries, and with them the keys that recognise a
   * redelivery, are pruned after this long. An item older than that (less `staleItemMarginMs`) is
   * acknowledged but not stored, so a replay cannot be processed twice. Unset: every item is taken.
   */
  readonly retentionDays?: number;
};

/**
 * Room between the age at which an item is no longer taken and the age at which its key may be pruned:
 * covers Meta's clock running ahead of ours, and an entry processed a little after it was sent.
 */
export const staleItemMarginMs = 60 * 60 * 1000;

const dayMs = 24 * 60 * 60 * 1000;

type StorableItem = InboundMessage | InboundStatus;

type IntakeOutcome = StoredInboxEntry | { readonly outcome: 'quarantined' };

type SortedItems = {
  readonly entries: readonly NewInboxEntry[];
  readonly unknownNumbers: ReadonlySet<PhoneNumberId>;
  readonly stale: number;
};

const quarantinedOutcome: IntakeOutcome = { outcome: 'quarantined' };

/**
 * Signature → parse → route each item to its tenant → inbox, before Meta gets its 200. A redelivery of an
 * item already stored changes nothing; items for numbers we do not serve are logged with the fix and
 * stored nowhere.
 */
export class IngestWebhook {
  readonly #deps: IngestWebhookDependencies;

  constructor(dependencies: IngestWebhookDependencies) {
    this.#deps = dependencies;
  }

  execute(input: IngestWebhookInput): ResultAsync<IngestWebhookOutput, IngestWebhookError> {
    return new ResultAsync(this.#ingest(input));
  }

  /**
   * Straight-line async code over Results, not safeTry: there every `yield*` of a ResultAsync runs
   * neverthrow's emulated async generator, and each `map` or `orElse` an emulated async function. Every webhook comes
   * through here; measured in-process, that machinery took a fifth of this use case's CPU.
   */
  async #ingest(input: IngestWebhookInput): Promise<Result<IngestWebhookOutput, IngestWebhookError>> {
    const deps = this.#deps;
    const size = input.rawBody.byteLength;
    if (size > maxWebhookBytes) return err({ type: 'payload_too_large', size, limit: maxWebhookBytes });
    const header = deps.verifier.checkHeader(input.signature);
    if (header.isErr()) return err(header.error);
    const secrets = await deps.secrets.known();
    if (secrets.isErr()) return err(secrets.error);
    const known = secrets.value;
    if (known.secrets.length === 0) return err({ type: 'no_webhook_secret' });
    const signedBy = await deps.verifier.verify(input.rawBody, input.signature, known.secrets);
    if (signedBy.isErr()) return err(signedBy.error);
    const batch = deps.parser.parse(input.rawBody);
    if (batch.isErr()) return err(batch.error);
    const { items, accountEvents, rejected } = batch.value;
    this.#noteUnread(batch.value);
    const signedFor = (route: NumberRoute) => known.expectedFor(route) === signedBy.value.secret;
    if (accountEvents !== undefined && accountEvents.length > 0) {
      const applied = await deps.accountEvents.apply(accountEvents, signedFor);
      if (applied.isErr()) return err(applied.error);
    }
    const routes = await deps.resolveTenant.routesOf(items.map((item) => item.phoneNumberId));
    if (routes.isErr()) return err(routes.error);
    const sorted = this.#sort(items, routes.value, signedFor);
    if (sorted.isErr()) return err(sorted.error);
    if (sorted.value.entries.length === 0) return ok(this.#tally(sorted.value, [], rejected.length));
    const results = await this.#store(sorted.value.entries);
    return results.map((stored) => this.#tally(sorted.value, stored, rejected.length));
  }

  /** Items that could not be read, and fields the bot does not act on: logged and counted, not stored. */
  #noteUnread(batch: WebhookBatch): void {
    const { logger, metrics } = this.#deps;
    for (const rejected of batch.rejected) {
      logger.error(
        { path: rejected.path, reason: rejected.reason },
        'webhook item could not be read; it was not stored',
      );
    }
    if (batch.rejected.length > 0)
      metrics.increment('webhook_items_total', { outcome: 'rejected' }, batch.rejected.length);
    for (const { field, wabaId } of batch.ignored)
      logger.info({ field, wabaId }, `webhook field ${field} acknowledged; the bot does not act on it`);
  }

  /**
   * The entries to store, one per item of a number we serve and within the retention; the numbers we do
   * not serve; the items too old to take. An item of a number whose app did not sign the delivery refuses
   * the whole delivery.
   */
  #sort(
    items: readonly WebhookItem[],
    routes: ReadonlyMap<PhoneNumberId, NumberRoute>,
    signedFor: (route: NumberRoute) => boolean,
  ): Result<SortedItems, IngestWebhookError> {
    const deps = this.#deps;
    const entries: NewInboxEntry[] = [];
    const unknownNumbers = new Set<PhoneNumberId>();
    const receivedAt = deps.clock.now();
    const takenSince = this.#takenSince(receivedAt);
    let stale = 0;
    for (const item of items) {
      const route = routes.get(item.phoneNumberId);
      if (route === undefined) {
        unknownNumbers.add(item.phoneNumberId);
        deps.metrics.increment('webhook_unknown_number_total');
        continue;
      }
      if (!signedFor(route)) {
        return err({ type: 'signature_app_mismatch' as const, phoneNumberId: item.phoneNumberId });
      }
      if (item.kind === 'error') {
        this.#logNumberError(route, item);
        continue;
      }
      const sentAt = item.kind === 'message' ? item.sentAt : item.at;
      if (takenSince !== undefined && sentAt < takenSince) {
        stale += 1;
        this.#logStale(item, sentAt);
        continue;
      }
      entries.push(entryOf(item, deps.ids.uuid(), receivedAt));
    }
    return ok({ entries, unknownNumbers, stale });
  }

  /** What became of each entry, counted, and the held ones handed back for processing here. */
  #tally(sorted: SortedItems, results: readonly IntakeOutcome[], rejected: number): IngestWebhookOutput {
    const { logger, metrics } = this.#deps;
    const { entries, stale } = sorted;
    // Numbers the directory knew but the store did not (moved or removed meanwhile) join those it did not.
    const unknownNumbers = new Set(sorted.unknownNumbers);
    const held: ClaimedInboxEntry[] = [];
    let stored = 0;
    let duplicates = 0;
    let quarantined = 0;
    results.forEach((result, index) => {
      if (result.outcome === 'quarantined') quarantined += 1;
      else if (result.outcome === 'applied') stored += 1;
      else if (result.outcome === 'stored') {
        stored += 1;
        if ('lease' in result.entry) held.push(result.entry);
      } else if (result.outcome === 'duplicate') duplicates += 1;
      else unknownNumbers.add(entries[index]!.phoneNumberId);
    });
    for (const phoneNumberId of unknownNumbers) {
      logger.warn(
        { phoneNumberId, fix: addNumberHint(phoneNumberId) },
        `webhook for unknown phone_number_id ${phoneNumberId}: no tenant has this number, so its items were not stored. Add it with: ${addNumberHint(phoneNumberId)}`,
      );
    }
    metrics.increment('webhook_items_total', { outcome: 'recorded' }, stored);
    metrics.increment('webhook_items_total', { outcome: 'duplicate' }, duplicates);
    if (quarantined > 0) metrics.increment('webhook_items_total', { outcome: 'quarantined' }, quarantined);
    if (stale > 0) metrics.increment('webhook_items_total', { outcome: 'stale' }, stale);
    return {
      held,
      stored,
      duplicates,
      unknownNumbers: [...unknownNumbers],
      rejected,
      quarantined,
      stale,
    };
  }

  /**
   * Stores the entries together. Should the database refuse their data (not be unavailable), each is
   * stored alone, and one still refused is quarantined: logged and counted, so one item PostgreSQL cannot
   * hold costs neither its siblings nor the delivery's 200 (Meta would redeliver it for days).
   */
  async #store(entries: readonly NewInboxEntry[]): Promise<Result<readonly IntakeOutcome[], StorageError>> {
    const stored = await this.#deps.intake.store(entries);
    if (stored.isOk() || !refusesTheData(stored.error)) return stored;
    return ResultAsync.combine(entries.map((entry) => this.#storeAlone(entry)));
  }

  #storeAlone(entry: NewInboxEntry): ResultAsync<IntakeOutcome, StorageError> {
    return this.#deps.intake
      .store([entry])
      .map(([outcome]) => outcome ?? quarantinedOutcome)
      .orElse((error) => {
        if (!refusesTheData(error)) return errAsync(error);
        this.#deps.logger.error(
          {
            phoneNumberId: entry.phoneNumberId,
            deliveryKey: truncateCodePoints(entry.deliveryKey, 80),
            kind: entry.item.kind,
            error: error.message,
          },
          'webhook item quarantined: the database refuses it even alone; the rest of the delivery was stored',
        );
        return okAsync(quarantinedOutcome);
      });
  }

  /** The oldest an item may be and still be stored: its redelivery key is kept at least that long. */
  #takenSince(now: Date): Date | undefined {
    const days = this.#deps.retentionDays;
    return days === undefined ? undefined : new Date(now.getTime() - days * dayMs + staleItemMarginMs);
  }

  #logStale(item: StorableItem, sentAt: Date): void {
    this.#deps.logger.warn(
      {
        phoneNumberId: item.phoneNumberId,
        deliveryKey: truncateCodePoints(deliveryKeyOf(item), 80),
        kind: item.kind,
        sentAt: sentAt.toISOString(),
        retentionDays: this.#deps.retentionDays,
      },
      'webhook item older than the retention, acknowledged but not stored: its redelivery key may be pruned, so it could be processed twice',
    );
  }

  #logNumberError(route: NumberRoute, item: Extract<WebhookItem, { kind: 'error' }>): void {
    for (const error of item.errors) {
      this.#deps.metrics.increment('webhook_number_errors_total', { code: String(error.code) });
      this.#deps.logger.warn(
        {
          tenantId: route.tenant.id,
          phoneNumberId: item.phoneNumberId,
          code: error.code,
          title: error.title,
          details: error.details,
        },
        `Meta reported error ${error.code} for number ${item.phoneNumberId}`,
      );
    }
  }
}

const entryOf = (item: StorableItem, id: string, receivedAt: Date): NewInboxEntry => {
  const orderingKey = item.kind === 'message' ? (item.from.userId ?? item.from.waId) : undefined;
  return {
    id,
    phoneNumberId: item.phoneNumberId,
    deliveryKey: deliveryKeyOf(item),
    ...defined({ orderingKey }),
    item,
    receivedAt,
  };
};
