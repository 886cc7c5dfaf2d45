import type { StorageError, TenantStore } from '@prestabot/application';
import type { ResultAsync, Tenant, TenantSettings } from '@prestabot/domain';
import { readOptionalRow } from '../sql/read-rows.ts';
import type { SqlSession } from '../sql/sql-driver.ts';
import { tenantColumnsSql, tenantRow } from './tenant.row.ts';

export class PostgresTenantStore implements TenantStore {
  readonly #session: SqlSession;

  constructor(session: SqlSession) {
    this.#session = session;
  }

  /** A tenant other than the scoped one is refused by row-level security (WITH CHECK): `constraint`. */
  create(tenant: Tenant): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        `INSERT INTO prestabot.tenants (id, name, timezone, locale, status, settings)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
        [
          tenant.id,
          tenant.name,
          tenant.timezone,
          tenant.locale,
          tenant.status,
          JSON.stringify(tenant.settings),
        ],
      )
      .map(() => undefined);
  }

  current(): ResultAsync<Tenant | undefined, StorageError> {
    return this.#session
      .query(
        `SELECT ${tenantColumnsSql} FROM prestabot.tenants WHERE id = prestabot.prestabot_current_tenant()`,
      )
      .andThen(readOptionalRow(tenantRow, 'tenant'));
  }

  updateSettings(settings: TenantSettings): ResultAsync<void, StorageError> {
    return this.#session
      .query(
        'UPDATE prestabot.tenants SET settings = $1::jsonb WHERE id = prestabot.prestabot_current_tenant()',
        [JSON.stringify(settings)],
      )
      .map(() => undefined);
  }
}
