import {
  type AppId,
  defaultRatePerSecond,
  defaultTenantSettings,
  defined,
  describeMessagingLimit,
  describeTokenStatus,
  err,
  errAsync,
  type Locale,
  type MetaAppId,
  maxRatePerSecond,
  ok,
  okAsync,
  type PhoneNumberId,
  parseCurrencyCode,
  parseE164,
  parseMetaAppId,
  parsePhoneNumberId,
  parseTenantId,
  parseTimeZone,
  parseWabaId,
  type Result,
  type ResultAsync,
  safeTry,
  supportedLocales,
  type Tenant,
  type TenantId,
  type TenantSettings,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { NewNumber, StoredToken } from '../ports/number-store.port.ts';
import { type SecretCipher, type SecretCipherError, secretPlaces } from '../ports/secret-cipher.port.ts';
import type { AppRegistry, TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';

export type InvalidInput = {
  readonly type: 'invalid_input';
  /** The option or variable at fault, e.g. `--timezone`. */
  readonly field: string;
  readonly value: string;
  readonly expected: string;
};

export type ManageTenantsError =
  | InvalidInput
  | { readonly type: 'number_already_registered'; readonly phoneNumberId: PhoneNumberId }
  | {
      readonly type: 'tenant_not_found';
      readonly tenantId?: TenantId;
      readonly phoneNumberId?: PhoneNumberId;
    }
  | SecretCipherError
  | StorageError;

/** A number as the operator types it: every field still raw text, validated here. */
export type NumberInput = {
  readonly phoneNumberId: string;
  readonly accessToken: string;
  readonly wabaId: string;
  readonly displayPhone?: string;
  readonly appSecret?: string;
  readonly metaAppId?: string;
  readonly ratePerSecond?: number;
};

export type AddTenantInput = NumberInput & {
  readonly name: string;
  readonly timezone?: string;
  readonly locale?: string;
};

/** Settings to change, as the operator types them; an absent field stays as it is. */
export type TenantSettingsInput = {
  /** Meta's Flow id of the "My profile" Flow; empty to fall back to the deployment's default again. */
  readonly profileFlowId?: string;
  readonly reminderSendHour?: number;
  readonly defaultCurrency?: string;
  readonly defaultCallingCode?: string;
};

export type TenantListingRow = {
  readonly tenantId: TenantId;
  readonly name: string;
  readonly timezone: string;
  readonly phoneNumberId?: PhoneNumberId;
  readonly displayPhoneNumber?: string;
  readonly wabaId?: string;
  /** `NULL` / `EMPTY` / `SET (n chars)` / `INVALID (last 190 at …)`: never the token. */
  readonly tokenStatus: string;
  readonly ratePerSecond?: number;
  /** Meta's view as last synced (absent before the first `numbers sync`). */
  readonly messagingLimit?: string;
  readonly qualityRating?: string;
  readonly qualityFlagged?: true;
  readonly throughputLevel?: string;
};

export type ManageTenantsDependencies = {
  readonly directory: TenantDirectory;
  readonly apps: AppRegistry;
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher: SecretCipher;
  readonly ids: IdGenerator;
};

const defaultTimezone = 'America/Santiago';

const invalid = (field: string, value: string, expected: string): InvalidInput => ({
  type: 'invalid_input',
  field,
  value,
  expected,
});

/** The operator's use cases: tenants, their numbers and their tokens. Adding a number needs no deploy. */
export class ManageTenants {
  readonly #deps: ManageTenantsDependencies;

  constructor(dependencies: ManageTenantsDependencies) {
    this.#deps = dependencies;
  }

  addTenant(input: AddTenantInput): ResultAsync<{ readonly tenantId: TenantId }, ManageTenantsError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const tenant = yield* tenantOf(input, deps.ids.uuid() as TenantId);
      const number = yield* self.#newNumber(tenant.id, input);
      yield* deps.unitOfWork
        .run(tenant.id, (repositories) =>
          repositories.tenant.create(tenant).andThen(() => repositories.numbers.add(number)),
        )
        .mapErr((error) => duplicateNumber(error, number.phoneNumberId));
      return ok({ tenantId: tenant.id });
    });
  }

  addNumber(
    tenantIdInput: string,
    input: NumberInput,
  ): ResultAsync<{ readonly phoneNumberId: PhoneNumberId }, ManageTenantsError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const tenantId = yield* parseTenantId(tenantIdInput).mapErr(() =>
        invalid('--tenant', tenantIdInput, 'a tenant id (UUID) from `prestabot tenants list`'),
      );
      const number = yield* self.#newNumber(tenantId, input);
      yield* deps.unitOfWork
        .run(tenantId, (repositories) =>
          repositories.tenant
            .current()
            .andThen((tenant) =>
              tenant === undefined
                ? errAsync({ type: 'tenant_not_found' as const, tenantId })
                : repositories.numbers.add(number),
            ),
        )
        .mapErr((error) => duplicateNumber(error, number.phoneNumberId));
      return ok({ phoneNumberId: number.phoneNumberId });
    });
  }

  rotateToken(
    phoneNumberIdInput: string,
    accessToken: string,
  ): ResultAsync<{ readonly tenantId: TenantId }, ManageTenantsError> {
    const deps = this.#deps;
    return safeTry(async function* () {
      const phoneNumberId = yield* phoneNumberIdOf(phoneNumberIdInput);
      const route = yield* deps.directory.findNumber(phoneNumberId);
      if (route === undefined) return err({ type: 'tenant_not_found' as const, phoneNumberId });
      const token = yield* sealToken(deps.cipher, accessToken, route.tenant.id, phoneNumberId);
      yield* deps.unitOfWork.run(route.tenant.id, (repositories) =>
        repositories.numbers.replaceToken(phoneNumberId, token),
      );
      return ok({ tenantId: route.tenant.id });
    });
  }

  configureTenant(
    tenantIdInput: string,
    input: TenantSettingsInput,
  ): ResultAsync<TenantSettings, ManageTenantsError> {
    const deps = this.#deps;
    return safeTry(async function* () {
      const tenantId = yield* parseTenantId(tenantIdInput).mapErr(() =>
        invalid('--tenant', tenantIdInput, 'a tenant id (UUID) from `prestabot tenants list`'),
      );
      const changes = yield* settingsChanges(input);
      return deps.unitOfWork.run(tenantId, (repositories) =>
        repositories.tenant.current().andThen((tenant) => {
          if (tenant === undefined) return errAsync({ type: 'tenant_not_found' as const, tenantId });
          const settings = changedSettings(tenant.settings, changes);
          return repositories.tenant.updateSettings(settings).map(() => settings);
        }),
      );
    });
  }

  listTenants(): ResultAsync<readonly TenantListingRow[], StorageError> {
    return this.#deps.directory.listTenants().map((tenants) =>
      tenants.flatMap(({ tenant, numbers }): TenantListingRow[] => {
        const base = { tenantId: tenant.id, name: tenant.name, timezone: tenant.timezone };
        if (numbers.length === 0) return [{ ...base, tokenStatus: describeTokenStatus({ kind: 'missing' }) }];
        return numbers.map((number) => ({
          ...base,
          phoneNumberId: number.phoneNumberId,
          wabaId: number.wabaId,
          tokenStatus: describeTokenStatus(number.tokenStatus),
          ratePerSecond: number.ratePerSecond,
          ...(number.meta === undefined
            ? {}
            : {
                messagingLimit: describeMessagingLimit(number.meta),
                qualityRating: number.meta.qualityRating,
                throughputLevel: number.meta.throughputLevel,
              }),
          ...defined({ qualityFlagged: number.qualityFlagged }),
          ...(number.displayPhoneNumber === undefined
            ? {}
            : { displayPhoneNumber: number.displayPhoneNumber }),
        }));
      }),
    );
  }

  #newNumber(tenantId: TenantId, input: NumberInput): ResultAsync<NewNumber, ManageTenantsError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const phoneNumberId = yield* phoneNumberIdOf(input.phoneNumberId);
      const wabaId = yield* parseWabaId(input.wabaId).mapErr(() =>
        invalid('--waba-id', input.wabaId, 'the WhatsApp Business Account id (digits)'),
      );
      const displayPhoneNumber =
        input.displayPhone === undefined
          ? undefined
          : yield* parseE164(
              input.displayPhone.startsWith('+') ? input.displayPhone : `+${input.displayPhone}`,
            ).mapErr(() =>
              invalid('--display-phone', input.displayPhone ?? '', 'the number in E.164, e.g. +56912345678'),
            );
      const ratePerSecond = input.ratePerSecond ?? defaultRatePerSecond;
      if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1 || ratePerSecond > maxRatePerSecond) {
        return err(
          invalid(
            '--rate',
            String(ratePerSecond),
            `a whole number of messages per second from 1 to ${maxRatePerSecond}`,
          ),
        );
      }
      const token = yield* sealToken(deps.cipher, input.accessToken, tenantId, phoneNumberId);
      const appId =
        input.appSecret === undefined
          ? undefined
          : yield* self.#registerApp(input.appSecret, input.metaAppId);
      return ok({
        phoneNumberId,
        wabaId,
        token,
        ratePerSecond,
        ...(input.ratePerSecond === undefined ? {} : { ratePinned: true as const }),
        ...defined({ displayPhoneNumber }),
        ...defined({ appId }),
      });
    });
  }

  #registerApp(
    appSecret: string,
    metaAppIdInput: string | undefined,
  ): ResultAsync<AppId, ManageTenantsError> {
    const deps = this.#deps;
    return safeTry(async function* () {
      if (appSecret.trim() === '')
        return err(
          invalid('--app-secret', '(empty)', 'the app secret from App Dashboard → Settings → Basic'),
        );
      const metaAppId: MetaAppId | undefined =
        metaAppIdInput === undefined
          ? undefined
          : yield* parseMetaAppId(metaAppIdInput).mapErr(() =>
              invalid('--app-id', metaAppIdInput, 'the Meta app id (digits)'),
            );
      // An app registered again keeps its row, and its secret is sealed for that row.
      const registered =
        metaAppId === undefined
          ? undefined
          : (yield* deps.directory.listApps()).find((app) => app.metaAppId === metaAppId);
      const id = registered?.id ?? (deps.ids.uuid() as AppId);
      const secret = yield* deps.cipher.seal(appSecret, secretPlaces.appSecret(id));
      const appId = yield* deps.apps.register({
        id,
        secret,
        ...defined({ metaAppId }),
      });
      return ok(appId);
    });
  }
}

const phoneNumberIdOf = (value: string): Result<PhoneNumberId, InvalidInput> =>
  parsePhoneNumberId(value).mapErr(() =>
    invalid('--phone-number-id', value, 'the phone number id from WhatsApp Manager → API Setup (digits)'),
  );

const sealToken = (
  cipher: SecretCipher,
  accessToken: string,
  tenantId: TenantId,
  phoneNumberId: PhoneNumberId,
): ResultAsync<StoredToken, SecretCipherError> =>
  accessToken === ''
    ? okAsync({ kind: 'empty' })
    : cipher
        .seal(accessToken, secretPlaces.accessToken(tenantId, phoneNumberId))
        .map((sealed): StoredToken => ({ kind: 'sealed', sealed, length: accessToken.length }));

const tenantOf = (input: AddTenantInput, id: TenantId): Result<Tenant, InvalidInput> => {
  const name = input.name.trim();
  if (name === '' || name.length > 200)
    return err(invalid('--name', input.name, 'a name of 1 to 200 characters'));
  const timezone = input.timezone ?? defaultTimezone;
  const zone = parseTimeZone(timezone);
  if (zone.isErr()) return err(invalid('--timezone', timezone, zone.error.expected));
  const locale = input.locale ?? 'es-CL';
  const knownLocale = supportedLocales.find((candidate) => candidate === locale);
  if (knownLocale === undefined)
    return err(invalid('--locale', locale, `one of ${supportedLocales.join(', ')}`));
  return ok({
    id,
    name,
    timezone: zone.value,
    locale: knownLocale satisfies Locale,
    status: 'active',
    settings: defaultTenantSettings,
  });
};

type SettingsChanges = Omit<Partial<TenantSettings>, 'profileFlowId'> & {
  /** `null` goes back to the deployment's default Flow. */
  readonly profileFlowId?: string | null;
};

const settingsChanges = (input: TenantSettingsInput): Result<SettingsChanges, InvalidInput> => {
  const { profileFlowId, reminderSendHour, defaultCurrency, defaultCallingCode } = input;
  let changes: SettingsChanges = {};
  if (profileFlowId !== undefined) {
    if (profileFlowId !== '' && !/^[0-9]{1,32}$/.test(profileFlowId))
      return err(
        invalid(
          '--profile-flow-id',
          profileFlowId,
          'the Flow id from WhatsApp Manager (digits), or "" for the default',
        ),
      );
    changes = { ...changes, profileFlowId: profileFlowId === '' ? null : profileFlowId };
  }
  if (reminderSendHour !== undefined) {
    if (!Number.isInteger(reminderSendHour) || reminderSendHour < 0 || reminderSendHour > 23)
      return err(invalid('--reminder-hour', String(reminderSendHour), 'a whole hour from 0 to 23'));
    changes = { ...changes, reminderSendHour };
  }
  if (defaultCurrency !== undefined) {
    const currency = parseCurrencyCode(defaultCurrency);
    if (currency.isErr()) return err(invalid('--currency', defaultCurrency, currency.error.expected));
    changes = { ...changes, defaultCurrency: currency.value };
  }
  if (defaultCallingCode !== undefined) {
    const code = defaultCallingCode.replace(/^\+/, '');
    if (!/^[1-9][0-9]{0,2}$/.test(code))
      return err(
        invalid('--calling-code', defaultCallingCode, 'a country calling code of 1 to 3 digits, e.g. 56'),
      );
    changes = { ...changes, defaultCallingCode: code };
  }
  return ok(changes);
};

const changedSettings = (current: TenantSettings, changes: SettingsChanges): TenantSettings => {
  const { profileFlowId: currentFlowId, ...rest } = current;
  const { profileFlowId: changedFlowId, ...otherChanges } = changes;
  const profileFlowId = changedFlowId === undefined ? currentFlowId : (changedFlowId ?? undefined);
  return { ...rest, ...otherChanges, ...defined({ profileFlowId }) };
};

const isStorageError = (error: { readonly type: string }): error is StorageError =>
  error.type === 'storage_error';

/** The database refuses a second `phone_number_id`: say which number, not which constraint. */
const duplicateNumber = <E extends { readonly type: string }>(error: E, phoneNumberId: PhoneNumberId) =>
  isStorageError(error) && error.reason === 'duplicate'
    ? ({ type: 'number_already_registered', phoneNumberId } as const)
    : error;
