import { errAsync, okAsync, type PhoneNumberId, ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { NumberRoute, TenantDirectory } from '../ports/tenant-directory.port.ts';

export type TenantNotFound = { readonly type: 'tenant_not_found'; readonly phoneNumberId: PhoneNumberId };
export type ResolveTenantError = TenantNotFound | StorageError;

/** Finds the tenant a number belongs to: the first step for everything a webhook carries. */
export class ResolveTenant {
  readonly #directory: TenantDirectory;

  constructor(directory: TenantDirectory) {
    this.#directory = directory;
  }

  execute(phoneNumberId: PhoneNumberId): ResultAsync<NumberRoute, ResolveTenantError> {
    return this.#directory
      .findNumber(phoneNumberId)
      .andThen((route) =>
        route === undefined
          ? errAsync<NumberRoute, ResolveTenantError>({ type: 'tenant_not_found', phoneNumberId })
          : okAsync(route),
      );
  }

  /** The routes of several numbers at once (a webhook's, a batch of entries'); unknown numbers are absent. */
  routesOf(numbers: Iterable<PhoneNumberId>): ResultAsync<Map<PhoneNumberId, NumberRoute>, StorageError> {
    const distinct = [...new Set(numbers)];
    return ResultAsync.combine(distinct.map((number) => this.#directory.findNumber(number))).map((found) => {
      const routes = new Map<PhoneNumberId, NumberRoute>();
      for (const route of found) if (route !== undefined) routes.set(route.number.phoneNumberId, route);
      return routes;
    });
  }
}

/** The command that fixes a `tenant_not_found`, for logs and error messages. */
export const addNumberHint = (phoneNumberId: PhoneNumberId): string =>
  `prestabot numbers add --tenant <tenant-id> --phone-number-id ${phoneNumberId} --access-token <token> --waba-id <waba-id>`;
