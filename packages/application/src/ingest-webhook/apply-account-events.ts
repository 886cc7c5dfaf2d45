import {
  type AccountEvent,
  defined,
  okAsync,
  qualityFlagOfEvent,
  type ResultAsync,
  ResultAsync as Results,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { TemplateStop } from '../loans/loan-stores.port.ts';
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
      if (event.kind === 'template_status' || event.kind === 'template_category')
        return this.#recordTemplate(routes, event);
      const limit = defined({ messagingLimit: event.messagingLimit });
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

  /** In every tenant with a number of the WABA: templates are registered per tenant, by name and language. */
  #recordTemplate(
    routes: readonly NumberRoute[],
    event: Extract<AccountEvent, { kind: 'template_status' | 'template_category' }>,
  ): ResultAsync<void, StorageError> {
    const { unitOfWork, logger } = this.#deps;
    const stop = templateStopOf(event);
    const what = `template ${event.name} (${event.language})`;
    if (stop === 'unchanged') {
      logger.info(
        { wabaId: event.wabaId, template: event.name },
        `${what}: ${describeTemplateEvent(event)}, nothing to change`,
      );
      return okAsync(undefined);
    }
    const tenants = [...new Set(routes.map((route) => route.tenant.id))];
    return Results.combine(
      tenants.map((tenantId) =>
        unitOfWork
          .run(tenantId, (repositories) =>
            repositories.templates.recordMetaStatus(event.name, event.language, stop),
          )
          .map((changed) => {
            const fields = { tenantId, template: event.name, language: event.language };
            if (changed > 0 && stop === undefined)
              logger.info(fields, `${what} is approved again: it is used again`);
            else if (changed > 0) logger.warn(fields, `${what} ${stop?.reason}: it is no longer used`);
            return changed;
          }),
      ),
    ).map(() => undefined);
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
            return number.phoneNumberId;
          }),
      ),
    ).map(() => undefined);
  }
}

const describeTemplateEvent = (
  event: Extract<AccountEvent, { kind: 'template_status' | 'template_category' }>,
) =>
  event.kind === 'template_status'
    ? `${event.event}${event.reason === undefined || event.reason === 'NONE' ? '' : `: ${event.reason}`}`
    : `re-categorised ${event.previousCategory ?? '?'} → ${event.newCategory}`;

const stoppingStatuses: Readonly<Record<string, TemplateStop['status']>> = {
  PAUSED: 'paused',
  DISABLED: 'disabled',
  PENDING_DELETION: 'disabled',
  REJECTED: 'rejected',
};

/**
 * A status that stops a template, `undefined` for one that makes it usable again (`APPROVED`,
 * `REINSTATED`), `unchanged` for the rest (`FLAGGED` warns of a pause to come, and is only logged).
 */
const templateStopOf = (
  event: Extract<AccountEvent, { kind: 'template_status' | 'template_category' }>,
): TemplateStop | undefined | 'unchanged' => {
  if (event.kind === 'template_category')
    return event.previousCategory === event.newCategory
      ? 'unchanged'
      : { status: 'recategorised', reason: describeTemplateEvent(event) };
  const status = stoppingStatuses[event.event];
  if (status !== undefined) return { status, reason: describeTemplateEvent(event) };
  return event.event === 'APPROVED' || event.event === 'REINSTATED' ? undefined : 'unchanged';
};
