import {
  type AccountEvent,
  okAsync,
  qualityFlagOfEvent,
  type ResultAsync,
  ResultAsync as Results,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { NumberRoute, TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';

export type ApplyAccountEventsDependencies = {
  readonly directory: Pick<TenantDirectory, 'findWabaNumbers'>;
  readonly unitOfWork: TenantUnitOfWork;
  readonly logger: Logger;
};

/**
 * Applies what Meta's account webhooks report to the WABA's numbers, in each number's tenant: a quality
 * flag to the number it names (by display number), a messaging limit to every number of the WABA (the
 * limit is the portfolio's, shared by its numbers). `account_update` is logged only.
 */
export class ApplyAccountEvents {
  readonly #deps: ApplyAccountEventsDependencies;

  constructor(dependencies: ApplyAccountEventsDependencies) {
    this.#deps = dependencies;
  }

  /** `signedFor`: whether the delivery's signature is the one a number's app signs with. */
  apply(
    events: readonly AccountEvent[],
    signedFor: (route: NumberRoute) => boolean,
  ): ResultAsync<void, StorageError> {
    return events.reduce<ResultAsync<void, StorageError>>(
      (previous, event) => previous.andThen(() => this.#applyOne(event, signedFor)),
      okAsync(undefined),
    );
  }

  #applyOne(
    event: AccountEvent,
    signedFor: (route: NumberRoute) => boolean,
  ): ResultAsync<void, StorageError> {
    const { directory, logger } = this.#deps;
    if (event.kind === 'account') {
      logger.info(
        { wabaId: event.wabaId, event: event.event },
        `account_update ${event.event} for WABA ${event.wabaId}`,
      );
      return okAsync(undefined);
    }
    return directory.findWabaNumbers(event.wabaId).andThen((found) => {
      // Another app's secret cannot speak for these numbers, as for their messages.
      const routes = found.filter(signedFor);
      if (routes.length === 0) {
        logger.warn(
          { wabaId: event.wabaId, kind: event.kind },
          `${event.kind} webhook for WABA ${event.wabaId}, which has no number here signed by that app: not applied`,
        );
        return okAsync(undefined);
      }
      const limit = event.messagingLimit === undefined ? {} : { messagingLimit: event.messagingLimit };
      if (event.kind === 'business_capability') return this.#record(routes, limit, event);
      const flag = qualityFlagOfEvent(event.event);
      const named = routes.filter(
        (route) => route.number.displayPhoneNumber?.slice(1) === event.displayPhoneNumber,
      );
      // A number registered without --display-phone is still the one meant when it is the WABA's only one.
      const flagged = named.length === 0 && routes.length === 1 ? routes : named;
      if (flag !== undefined && flagged.length === 0)
        logger.warn(
          { wabaId: event.wabaId, displayPhoneNumber: event.displayPhoneNumber },
          `quality ${event.event} for display number ${event.displayPhoneNumber}, which no number of WABA ${event.wabaId} has (add --display-phone to the number)`,
        );
      return this.#record(routes, limit, event).andThen(() =>
        flag === undefined ? okAsync(undefined) : this.#record(flagged, { qualityFlagged: flag }, event),
      );
    });
  }

  #record(
    routes: readonly NumberRoute[],
    change: { readonly qualityFlagged?: boolean; readonly messagingLimit?: number | 'unlimited' },
    event: AccountEvent,
  ): ResultAsync<void, StorageError> {
    if (Object.keys(change).length === 0) return okAsync(undefined);
    const { unitOfWork, logger } = this.#deps;
    return Results.combine(
      routes.map(({ tenant, number }) =>
        unitOfWork
          .run(tenant.id, (repositories) =>
            repositories.numbers.recordAccountEvent(number.phoneNumberId, change),
          )
          .map(() => {
            const line = `Meta reported ${'event' in event ? event.event : event.kind} for number ${number.phoneNumberId}`;
            const fields = { tenantId: tenant.id, phoneNumberId: number.phoneNumberId, ...change };
            if (change.qualityFlagged === true) logger.warn(fields, `${line}: its quality is flagged`);
            else logger.info(fields, line);
          }),
      ),
    ).map(() => undefined);
  }
}
