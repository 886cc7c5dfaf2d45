import type { StorageError, UsageLedger, UsageQuery, UsageRow } from '@prestabot/application';
import type { PhoneNumberId, ResultAsync, TenantId } from '@prestabot/domain';
import * as z from 'zod';
import { readRows } from './sql/read-rows.ts';
import { callCrossTenant } from './sql/scopes.ts';
import type { SqlDriver } from './sql/sql-driver.ts';

const usageRow = z
  .object({
    tenant_id: z.string(),
    phone_number_id: z.string(),
    category: z.string(),
    billable: z.boolean(),
    messages: z.number().int(),
  })
  .transform(
    (row): UsageRow => ({
      tenantId: row.tenant_id as TenantId,
      phoneNumberId: row.phone_number_id as PhoneNumberId,
      category: row.category,
      billable: row.billable,
      messages: row.messages,
    }),
  );

/** Every tenant's priced messages, recorded as their statuses are stored (`store_webhook_items`), read by `usage_by_number`. */
export class PostgresUsageLedger implements UsageLedger {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  usage(query: UsageQuery): ResultAsync<readonly UsageRow[], StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.usage_by_number($1, $2, $3)', [
      query.tenantId ?? null,
      query.from,
      query.until,
    ]).andThen(readRows(usageRow, 'usage'));
  }
}
