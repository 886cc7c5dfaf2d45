import type { PricedMessage, StorageError, UsageLedger, UsageQuery, UsageRow } from '@prestabot/application';
import type { PhoneNumberId, TenantId } from '@prestabot/domain';
import { okAsync, type ResultAsync } from '@prestabot/domain';
import * as z from 'zod';
import { readRows } from './rows.ts';
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

/** Every tenant's priced messages: `prestabot.record_pricing` and `usage_by_number`, one round trip each. */
export class PostgresUsageLedger implements UsageLedger {
  readonly #driver: SqlDriver;

  constructor(driver: SqlDriver) {
    this.#driver = driver;
  }

  record(messages: readonly PricedMessage[]): ResultAsync<void, StorageError> {
    if (messages.length === 0) return okAsync(undefined);
    const rows = messages.map((message, ordinal) => ({
      ordinal,
      phone_number_id: message.phoneNumberId,
      wamid: message.wamid,
      at: message.at,
      billable: message.pricing.billable,
      pricing_model: message.pricing.pricingModel,
      pricing_type: message.pricing.type ?? null,
      category: message.pricing.category,
    }));
    return callCrossTenant(this.#driver, 'SELECT prestabot.record_pricing($1::jsonb)', [
      JSON.stringify(rows),
    ]).map(() => undefined);
  }

  usage(query: UsageQuery): ResultAsync<readonly UsageRow[], StorageError> {
    return callCrossTenant(this.#driver, 'SELECT * FROM prestabot.usage_by_number($1, $2, $3)', [
      query.tenantId ?? null,
      query.from,
      query.until,
    ]).andThen(readRows(usageRow, 'usage'));
  }
}
