import {
  parseTimeZone,
  supportedLocales,
  type Tenant,
  type TenantId,
  type TimeZone,
} from '@prestabot/domain';
import * as z from 'zod';
import { branded } from '../sql/column-types.ts';
import { tenantSettings } from '../sql/jsonb-codecs.ts';

// The tenants' rows (`prestabot.tenants`), with their columns aliased so a tenant and a number share a row.

/** A tenant's columns, aliased so that a tenant and a number can share one row. */
export const tenantColumnsSql =
  'id AS tenant_id, name AS tenant_name, timezone AS tenant_timezone, locale AS tenant_locale, status AS tenant_status, settings AS tenant_settings';

export const tenantColumns = {
  tenant_id: branded<TenantId>(),
  tenant_name: z.string(),
  tenant_timezone: z
    .string()
    .refine((value) => parseTimeZone(value).isOk())
    .transform((value) => value as TimeZone),
  tenant_locale: z.enum(supportedLocales),
  tenant_status: z.enum(['active', 'suspended']),
  tenant_settings: tenantSettings,
};

export const tenantOf = (row: z.output<z.ZodObject<typeof tenantColumns>>): Tenant => ({
  id: row.tenant_id,
  name: row.tenant_name,
  timezone: row.tenant_timezone,
  locale: row.tenant_locale,
  status: row.tenant_status,
  settings: row.tenant_settings,
});

export const tenantRow = z.object(tenantColumns).transform(tenantOf);
