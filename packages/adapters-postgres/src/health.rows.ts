import * as z from 'zod';
import type { ApplicationRoleStatus, TableIsolation } from './health.ts';
import { applicationRole } from './sql/scopes.ts';

// The catalog rows the health checks and the migrator read.

export const ledgerRow = z.object({ name: z.string(), checksum: z.string() });

export const versionRow = z.object({ version: z.string() }).transform((row) => row.version);

export const bypassRow = z.object({ bypasses: z.boolean() }).transform((row) => row.bypasses);

export const loginRow = z.object({ name: z.string(), privileged: z.boolean() });

export const tableRow = z
  .object({
    table: z.string(),
    tenant_owned: z.boolean(),
    row_security_enabled: z.boolean(),
    row_security_forced: z.boolean(),
    policies: z.number().int(),
  })
  .transform(
    (row): TableIsolation => ({
      table: row.table,
      tenantOwned: row.tenant_owned,
      rowSecurityEnabled: row.row_security_enabled,
      rowSecurityForced: row.row_security_forced,
      policies: row.policies,
    }),
  );

export const roleRow = z
  .object({
    superuser: z.boolean(),
    bypasses_row_security: z.boolean(),
    can_login: z.boolean(),
    owned_objects: z.number().int(),
    member_of: z.array(z.string()),
  })
  .transform(
    (row): ApplicationRoleStatus => ({
      name: applicationRole,
      exists: true,
      superuser: row.superuser,
      bypassesRowSecurity: row.bypasses_row_security,
      canLogin: row.can_login,
      ownedObjects: row.owned_objects,
      memberOf: row.member_of,
    }),
  );
