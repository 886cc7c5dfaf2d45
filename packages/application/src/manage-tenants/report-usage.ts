import {
  defined,
  err,
  errAsync,
  ok,
  parseTenantId,
  type Result,
  type ResultAsync,
  safeTry,
  type TenantId,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { UsageLedger, UsageRow } from '../ports/usage-ledger.port.ts';
import type { InvalidInput } from './manage-tenants.ts';

export type UsageReportRequest = {
  /** Every tenant when absent. */
  readonly tenantId?: string;
  /** `YYYY-MM`, a calendar month in UTC; the current one when absent. */
  readonly month?: string;
};

export type UsageReport = { readonly month: string; readonly rows: readonly UsageRow[] };

export type ReportUsageError =
  | InvalidInput
  | { readonly type: 'tenant_not_found'; readonly tenantId: TenantId }
  | StorageError;

export type ReportUsageDependencies = {
  readonly usage: UsageLedger;
  readonly unitOfWork: TenantUnitOfWork;
  readonly clock: Clock;
};

/**
 * `prestabot usage`: the messages of a month by tenant, number, pricing category and billable or free, as
 * Meta priced them in their status webhooks. What a deployment hosting many tenants bills from.
 */
export class ReportUsage {
  readonly #deps: ReportUsageDependencies;

  constructor(dependencies: ReportUsageDependencies) {
    this.#deps = dependencies;
  }

  execute(request: UsageReportRequest): ResultAsync<UsageReport, ReportUsageError> {
    const deps = this.#deps;
    return safeTry(async function* () {
      const month = request.month ?? deps.clock.now().toISOString().slice(0, 7);
      const range = yield* monthRange(month);
      const tenantId =
        request.tenantId === undefined ? undefined : yield* existingTenant(deps, request.tenantId);
      const rows = yield* deps.usage.usage({ ...range, ...defined({ tenantId }) });
      return ok({ month, rows });
    });
  }
}

const monthRange = (month: string): Result<{ readonly from: Date; readonly until: Date }, InvalidInput> => {
  const parts = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (parts === null)
    return err({ type: 'invalid_input', field: '--month', value: month, expected: 'a month as YYYY-MM' });
  const year = Number(parts[1]);
  const index = Number(parts[2]) - 1;
  return ok({ from: new Date(Date.UTC(year, index, 1)), until: new Date(Date.UTC(year, index + 1, 1)) });
};

const existingTenant = (
  deps: ReportUsageDependencies,
  input: string,
): ResultAsync<TenantId, ReportUsageError> => {
  const parsed = parseTenantId(input);
  if (parsed.isErr())
    return errAsync({
      type: 'invalid_input',
      field: '--tenant',
      value: input,
      expected: 'a tenant id (UUID) from `prestabot tenants list`',
    } as const);
  const tenantId = parsed.value;
  return deps.unitOfWork
    .run(tenantId, (repositories) => repositories.tenant.current())
    .andThen((tenant) =>
      tenant === undefined ? errAsync({ type: 'tenant_not_found' as const, tenantId }) : ok(tenantId),
    );
};
