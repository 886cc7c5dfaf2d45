import type { DatabaseHealth, DatabaseLogin, NumberHealth } from '@prestabot/adapters-postgres';
import { describeMessagingLimit, describeTokenStatus, type Result } from '@prestabot/domain';
import {
  type Config,
  type FlowKeyAdminError,
  type FlowKeyStatus,
  runtimeLoginWarning,
} from '@prestabot/runtime';

/** A warning passes (the exit code stays 0) but is shown with `!` and its fix. */
export type Check = {
  readonly ok: boolean;
  readonly label: string;
  readonly fix?: string;
  readonly warning?: boolean;
};

const check = (ok: boolean, label: string, fix?: string): Check => ({
  ok,
  label,
  ...(ok || fix === undefined ? {} : { fix }),
});

/**
 * Judges a deployment from its configuration and what the database reports: every line an operator
 * needs, each failure with how to fix it.
 */
export const diagnose = (
  config: Config,
  health: DatabaseHealth,
  flowKeys: ReadonlyMap<string, Result<FlowKeyStatus, FlowKeyAdminError>> = new Map(),
  /** Who DATABASE_URL logs in as; undefined for the embedded database. */
  runtimeLogin?: DatabaseLogin,
): readonly Check[] => {
  const checks: Check[] = [
    check(
      config.verifyToken !== undefined,
      'WHATSAPP_VERIFY_TOKEN is set (Meta verifies the webhook URL with it)',
      'set WHATSAPP_VERIFY_TOKEN to the token typed in the App Dashboard',
    ),
    check(
      config.encryptionKeys.current !== undefined,
      'PRESTABOT_ENCRYPTION_KEY is set (tokens and secrets are sealed with it)',
      'make one with: openssl rand -base64 32',
    ),
  ];
  if (!health.reachable)
    return [
      ...checks,
      check(
        false,
        `database reachable: ${health.error.message}`,
        'check DATABASE_URL and that the server runs',
      ),
    ];
  const { migrations, tables, applicationRole: role } = health;
  checks.push(check(true, `database reachable (${health.driver}, ${health.serverVersion})`));
  checks.push(
    check(
      migrations.pending.length === 0,
      `migrations applied (${migrations.applied.length})${migrations.pending.length > 0 ? `, pending: ${migrations.pending.join(', ')}` : ''}`,
      'run: prestabot migrate',
    ),
  );
  if (migrations.changed.length > 0)
    checks.push(
      check(
        false,
        `migrations changed after they were applied: ${migrations.changed.join(', ')}`,
        'restore the files; add a new migration instead',
      ),
    );
  const tenantTables = tables.filter((table) => table.tenantOwned);
  const unguarded = tenantTables.filter(
    (table) => !table.rowSecurityEnabled || !table.rowSecurityForced || table.policies === 0,
  );
  checks.push(
    check(
      unguarded.length === 0,
      unguarded.length === 0
        ? `row-level security enabled and forced on all ${tenantTables.length} tenant tables`
        : `row-level security missing on: ${unguarded.map((table) => table.table).join(', ')}`,
      'run: prestabot migrate (and never disable RLS by hand)',
    ),
  );
  checks.push(
    check(
      role.exists && !role.superuser && !role.bypassesRowSecurity && role.ownedObjects === 0,
      `application role ${role.name}: ${role.exists ? `${role.superuser ? 'SUPERUSER' : 'no superuser'}, ${role.bypassesRowSecurity ? 'BYPASSRLS' : 'no bypassrls'}, owns ${role.ownedObjects} objects` : 'missing'}`,
      'run: prestabot migrate; the role must own nothing and must not bypass row-level security',
    ),
  );
  if (runtimeLogin !== undefined) checks.push(runtimeLoginCheck(runtimeLogin));
  checks.push(
    check(
      health.definerOwnerBypassesRowSecurity,
      'cross-tenant functions can route webhooks and claim work',
      'run the migrations as a superuser (or Supabase postgres)',
    ),
  );
  const apps = health.apps ?? [];
  checks.push(
    check(
      config.deploymentAppSecret !== undefined || apps.length > 0,
      `webhook signatures can be checked (${apps.length} registered app secret(s)${config.deploymentAppSecret === undefined ? '' : ' and META_APP_SECRET'})`,
      'set META_APP_SECRET, or add numbers with --app-secret',
    ),
  );
  for (const app of apps) {
    if (app.secretReadable === false)
      checks.push(
        check(
          false,
          `app ${app.metaAppId ?? app.appId}: secret cannot be opened with the configured key`,
          'restore the key it was sealed with (PRESTABOT_PREVIOUS_ENCRYPTION_KEYS) or register the app again',
        ),
      );
  }
  for (const number of health.numbers ?? []) {
    const status = describeTokenStatus(number.tokenStatus);
    const usable =
      (number.tokenStatus.kind === 'set' && number.tokenReadable !== false) ||
      ((number.tokenStatus.kind === 'missing' || number.tokenStatus.kind === 'empty') &&
        config.fallbackAccessToken !== undefined);
    const label = `number ${number.phoneNumberId} (${number.tenantName}): token ${status}${number.tokenReadable === false ? ', cannot be opened with the configured key' : ''}`;
    checks.push(
      check(
        usable,
        label,
        `run: prestabot tenants rotate-token --phone-number-id ${number.phoneNumberId} --access-token <token>`,
      ),
    );
  }
  for (const number of health.numbers ?? []) checks.push(metaViewCheck(number));
  for (const [phoneNumberId, status] of flowKeys) checks.push(flowKeyCheck(phoneNumberId, status));
  if ((health.numbers ?? []).length === 0)
    checks.push(check(true, 'no numbers yet: add one with prestabot tenants add'));
  return checks;
};

/**
 * Meta's view of a number as last synced: never a failure (Meta, not the deployment, sets it), a warning
 * when the quality is low or flagged, since business-initiated sends then slow down.
 */
const metaViewCheck = (number: NumberHealth): Check => {
  const sync = `run: prestabot numbers sync --phone-number-id ${number.phoneNumberId}`;
  const { meta } = number;
  if (meta === undefined)
    return check(
      true,
      `number ${number.phoneNumberId}: messaging limit, quality and throughput not read from Meta yet (${sync}; the worker does daily)`,
    );
  const flagged = number.qualityFlagged === true ? ', FLAGGED' : '';
  const label = `number ${number.phoneNumberId}: limit ${describeMessagingLimit(meta)}, quality ${meta.qualityRating}${flagged}, throughput ${meta.throughputLevel} (synced ${meta.syncedAt.toISOString()})`;
  return meta.qualityRating === 'RED' || number.qualityFlagged === true
    ? { ok: true, warning: true, label, fix: 'WhatsApp Manager → Insights shows what lowered the quality' }
    : check(true, label);
};

/** The single-URL mode still works, so a privileged runtime login is a warning, not a failure. */
const runtimeLoginCheck = (login: DatabaseLogin): Check => {
  const warning = runtimeLoginWarning(login);
  return warning === undefined
    ? check(true, `DATABASE_URL logs in as ${login.name}, which cannot leave row-level security`)
    : { ok: true, warning: true, label: warning.problem, fix: warning.fix };
};

/** A number's Flows key: none is fine (Flows are off for it); one Meta does not hold breaks every Flow with 421. */
const flowKeyCheck = (phoneNumberId: string, result: Result<FlowKeyStatus, FlowKeyAdminError>): Check => {
  const register = `run: prestabot flows register-key --phone-number-id ${phoneNumberId}`;
  if (result.isErr())
    return check(false, `number ${phoneNumberId}: Flows keys unreadable (${result.error.type})`);
  const { keys, registered, registeredUnknown } = result.value;
  const current = keys.find((key) => key.retiredAt === undefined);
  if (current === undefined)
    return check(
      true,
      `number ${phoneNumberId}: no Flows key (Flows are off for it; prestabot flows keygen makes one)`,
    );
  const ours = `Flows key ${current.fingerprint} (${current.scope})`;
  if (registeredUnknown !== undefined)
    return check(
      false,
      `number ${phoneNumberId}: ${ours}, Meta could not be asked: ${registeredUnknown}`,
      register,
    );
  if (registered === undefined)
    return check(false, `number ${phoneNumberId}: ${ours}, not registered with Meta`, register);
  return check(
    registered.matchesCurrent,
    `number ${phoneNumberId}: ${ours}, ${registered.matchesCurrent ? 'registered with Meta' : 'Meta holds another key'}`,
    register,
  );
};
