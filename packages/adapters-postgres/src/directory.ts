import type {
  AppRegistry,
  FlowKeyDirectory,
  NumberRoute,
  RegisteredApp,
  StorageError,
  StoredFlowKey,
  TenantDirectory,
} from '@prestabot/application';
import type {
  AppId,
  PhoneNumberId,
  ResultAsync,
  Tenant,
  TenantId,
  WabaId,
  WhatsAppNumber,
} from '@prestabot/domain';
import { appIdRow, registeredAppRow } from './app.row.ts';
import { flowKeyColumnsSql, tenantFlowKeyRow } from './repositories/flow-key.row.ts';
import { tenantNumberRow } from './repositories/number.row.ts';
import { readRow, readRows } from './sql/read-rows.ts';
import { callCrossTenant } from './sql/scopes.ts';
import type { SqlDriver } from './sql/sql-driver.ts';

type TenantListing = { readonly tenant: Tenant; readonly numbers: readonly WhatsAppNumber[] };

/** The cross-tenant reads before any tenant is known, each through its definer function. */
export class PostgresTenantDirectory implements TenantDirectory {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  findNumber(phoneNumberId: PhoneNumberId): ResultAsync<NumberRoute | undefined, StorageError> {
    return this.findNumbers([phoneNumberId]).map(([route]) => route);
  }

  findNumbers(phoneNumberIds: readonly PhoneNumberId[]): ResultAsync<readonly NumberRoute[], StorageError> {
    return this.#routes('SELECT * FROM prestabot.find_number_routes($1::text[])', [phoneNumberIds]);
  }

  findWabaNumbers(wabaId: WabaId): ResultAsync<readonly NumberRoute[], StorageError> {
    return this.#routes('SELECT * FROM prestabot.find_waba_numbers($1)', [wabaId]);
  }

  listApps(): ResultAsync<readonly RegisteredApp[], StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.list_meta_apps()').andThen(
      readRows(registeredAppRow, 'meta app'),
    );
  }

  listTenants(): ResultAsync<readonly TenantListing[], StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.list_tenants_with_numbers()')
      .andThen(readRows(tenantNumberRow, 'tenant listing'))
      .map((rows) => {
        const listing = new Map<TenantId, { tenant: Tenant; numbers: WhatsAppNumber[] }>();
        for (const { tenant, number } of rows) {
          const entry = listing.get(tenant.id) ?? { tenant, numbers: [] };
          if (number !== undefined) entry.numbers.push(number);
          listing.set(tenant.id, entry);
        }
        return [...listing.values()];
      });
  }

  #routes(text: string, params: readonly unknown[]): ResultAsync<readonly NumberRoute[], StorageError> {
    return callCrossTenant(this.#driver, text, params)
      .andThen(readRows(tenantNumberRow, 'number route'))
      .map((rows) =>
        rows.flatMap(({ tenant, number }) => (number === undefined ? [] : [{ tenant, number }])),
      );
  }
}

export class PostgresAppRegistry implements AppRegistry {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  register(app: RegisteredApp): ResultAsync<AppId, StorageError> {
    return callCrossTenant(this.#driver, 'SELECT prestabot.register_meta_app($1, $2, $3, $4) AS id', [
      app.id,
      app.metaAppId ?? null,
      app.secret.keyId,
      app.secret.ciphertext,
    ]).andThen(readRow(appIdRow, 'registered app'));
  }
}

/** Every tenant's Flows keys, through `prestabot.list_flow_keys`: a request names its tenant only once opened. */
export class PostgresFlowKeyDirectory implements FlowKeyDirectory {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  listAll(): ResultAsync<readonly (StoredFlowKey & { readonly tenantId: TenantId })[], StorageError> {
    return callCrossTenant(
      this.#driver,
      `SELECT ${flowKeyColumnsSql}, tenant_id FROM prestabot.list_flow_keys()`,
    ).andThen(readRows(tenantFlowKeyRow, 'flow key'));
  }
}
