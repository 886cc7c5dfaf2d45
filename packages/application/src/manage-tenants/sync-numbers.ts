import {
  defined,
  describeMessagingLimit,
  err,
  errAsync,
  type MetaNumberView,
  ok,
  okAsync,
  type PhoneNumberId,
  parsePhoneNumberId,
  type ResultAsync,
  ratePerSecondOfThroughput,
  safeTry,
  type TenantId,
  type WhatsAppNumber,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import { describeSendFailure } from '../ports/messaging-gateway.port.ts';
import type { MetaNumberReader } from '../ports/meta-number-reader.port.ts';
import type { TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { AccessTokenError, NumberAccessTokens } from '../send-reply/send-reply.ts';
import type { InvalidInput } from './manage-tenants.ts';

/** One number's sync: what Meta said and the rate it now sends at, or why it could not be read. */
export type NumberSyncOutcome = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
} & (
  | {
      readonly synced: true;
      readonly view: MetaNumberView;
      readonly ratePerSecond: number;
      readonly ratePinned: boolean;
    }
  | { readonly synced: false; readonly reason: string }
);

export type SyncNumbersError =
  | InvalidInput
  | { readonly type: 'number_not_found'; readonly phoneNumberId: PhoneNumberId }
  | StorageError;

export type SyncNumbersDependencies = {
  readonly directory: TenantDirectory;
  readonly unitOfWork: TenantUnitOfWork;
  readonly tokens: Pick<NumberAccessTokens, 'of'>;
  readonly reader: MetaNumberReader;
  readonly clock: Clock;
  readonly logger: Logger;
};

const dayMs = 24 * 60 * 60_000;

/**
 * Reads Meta's view of each number with the number's own token and stores it; the number's send rate
 * follows its throughput level unless the operator pinned `--rate`. One number failing does not stop
 * the others: each outcome says what happened to its number.
 */
export class SyncNumbers {
  readonly #deps: SyncNumbersDependencies;

  constructor(dependencies: SyncNumbersDependencies) {
    this.#deps = dependencies;
  }

  /** Every number, or the one given (`--phone-number-id`). */
  sync(phoneNumberIdInput?: string): ResultAsync<readonly NumberSyncOutcome[], SyncNumbersError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const wanted =
        phoneNumberIdInput === undefined
          ? undefined
          : yield* parsePhoneNumberId(phoneNumberIdInput).mapErr(
              (): InvalidInput => ({
                type: 'invalid_input',
                field: '--phone-number-id',
                value: phoneNumberIdInput,
                expected: 'the phone number id from WhatsApp Manager → API Setup (digits)',
              }),
            );
      const numbers = (yield* self.#allNumbers()).filter(
        (number) => wanted === undefined || number.phoneNumberId === wanted,
      );
      if (wanted !== undefined && numbers.length === 0)
        return err({ type: 'number_not_found' as const, phoneNumberId: wanted });
      return ok(await self.#syncEach(numbers, deps.clock.now()));
    });
  }

  /** The numbers not read for a day (or never): what the worker's daily loop syncs. */
  syncDue(): ResultAsync<readonly NumberSyncOutcome[], StorageError> {
    const now = this.#deps.clock.now();
    return this.#allNumbers()
      .map((numbers) =>
        numbers.filter(
          (number) => number.meta === undefined || now.getTime() - number.meta.syncedAt.getTime() >= dayMs,
        ),
      )
      .map((due) => this.#syncEach(due, now));
  }

  #allNumbers(): ResultAsync<readonly WhatsAppNumber[], StorageError> {
    return this.#deps.directory.listTenants().map((tenants) => tenants.flatMap(({ numbers }) => numbers));
  }

  async #syncEach(numbers: readonly WhatsAppNumber[], syncedAt: Date): Promise<NumberSyncOutcome[]> {
    const outcomes: NumberSyncOutcome[] = [];
    // One number at a time: Graph's management endpoints allow a few thousand calls an hour per WABA.
    for (const number of numbers) outcomes.push(await this.#syncOne(number, syncedAt));
    return outcomes;
  }

  async #syncOne(number: WhatsAppNumber, syncedAt: Date): Promise<NumberSyncOutcome> {
    const { tokens, reader, unitOfWork, logger } = this.#deps;
    const { tenantId, phoneNumberId } = number;
    const synced = await tokens
      .of(tenantId, phoneNumberId)
      .mapErr(describeTokenError)
      .andThen((token) => reader.read(number, token).mapErr(describeSendFailure))
      .andThen((view) => {
        const ratePerSecond = ratePerSecondOfThroughput(view.throughputLevel);
        return unitOfWork
          .run(tenantId, (repositories) =>
            repositories.numbers.recordMetaView(phoneNumberId, view, {
              syncedAt,
              ...defined({ ratePerSecond }),
            }),
          )
          .mapErr((error) => `cannot store it: ${error.message}`)
          .andThen((stored) =>
            stored === undefined ? errAsync('the number is no longer registered') : okAsync({ view, stored }),
          );
      });
    if (synced.isErr()) {
      logger.warn({ tenantId, phoneNumberId }, `cannot sync number ${phoneNumberId}: ${synced.error}`);
      return { tenantId, phoneNumberId, synced: false, reason: synced.error };
    }
    const { view, stored } = synced.value;
    const { ratePerSecond } = stored;
    logger.info(
      {
        tenantId,
        phoneNumberId,
        messagingLimit: describeMessagingLimit(view),
        qualityRating: view.qualityRating,
        throughputLevel: view.throughputLevel,
        ratePerSecond,
      },
      `synced number ${phoneNumberId} with Meta`,
    );
    return {
      tenantId,
      phoneNumberId,
      synced: true,
      view,
      ratePerSecond,
      ratePinned: stored.ratePinned === true,
    };
  }
}

const describeTokenError = (error: AccessTokenError): string => {
  switch (error.type) {
    case 'no_access_token':
      return 'the number has no access token (and WHATSAPP_ACCESS_TOKEN is not set)';
    case 'number_not_found':
      return 'the number is no longer registered';
    default:
      return `its token cannot be opened: ${error.message}`;
  }
};
