import type {
  AppId,
  MetaAppId,
  PhoneNumberId,
  ResultAsync,
  Tenant,
  WabaId,
  WhatsAppNumber,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { SealedSecret } from './secret-cipher.port.ts';

/** A number and the tenant it belongs to. */
export type NumberRoute = { readonly tenant: Tenant; readonly number: WhatsAppNumber };

export type RegisteredApp = {
  readonly id: AppId;
  readonly metaAppId?: MetaAppId;
  readonly secret: SealedSecret;
};

/**
 * The narrow cross-tenant reads that happen before any tenant is known: which tenant a webhook's number
 * belongs to, and which app secrets may have signed it. Plus the operator's listing of all tenants.
 */
export interface TenantDirectory {
  findNumber(phoneNumberId: PhoneNumberId): ResultAsync<NumberRoute | undefined, StorageError>;
  /** The routes of several numbers in one lookup; unknown numbers are absent. */
  findNumbers(phoneNumberIds: readonly PhoneNumberId[]): ResultAsync<readonly NumberRoute[], StorageError>;
  /** The numbers of a WABA, with their tenants: where an account webhook (quality, limits) applies. */
  findWabaNumbers(wabaId: WabaId): ResultAsync<readonly NumberRoute[], StorageError>;
  listApps(): ResultAsync<readonly RegisteredApp[], StorageError>;
  /** Every tenant with each of its numbers (a tenant without numbers appears with `number` absent). */
  listTenants(): ResultAsync<
    readonly { readonly tenant: Tenant; readonly numbers: readonly WhatsAppNumber[] }[],
    StorageError
  >;
}

/** Meta apps are the deployment's, not a tenant's: several tenants' numbers may share one. */
export interface AppRegistry {
  /** Registers an app, or replaces the secret of the app with the same Meta app id. */
  register(app: RegisteredApp): ResultAsync<AppId, StorageError>;
}
