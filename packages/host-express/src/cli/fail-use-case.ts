import {
  describeSendFailure,
  type ManageTemplatesError,
  type ManageTenantsError,
  type SyncNumbersError,
} from '@prestabot/application';
import type { FlowKeyAdminError } from '@prestabot/runtime';
import { exitFailure, exitUsage, fail } from './exit.ts';

// Permission denied: most likely DATABASE_URL is the runtime login, which may not run admin commands.
const adminLoginHint =
  ' (admin commands need the migrating role: set DATABASE_MIGRATION_URL to its URL, see README: Database roles)';

/** The one place an admin command's error becomes a line on stderr and an exit code. */
export const failUseCase = (
  error: ManageTenantsError | ManageTemplatesError | FlowKeyAdminError | SyncNumbersError,
): never => {
  switch (error.type) {
    case 'invalid_input':
      return fail(
        `${error.field} ${JSON.stringify(error.value)} is not valid: expected ${error.expected}`,
        exitUsage,
      );
    case 'number_already_registered':
      return fail(
        `phone_number_id ${error.phoneNumberId} is already registered (prestabot tenants list shows where)`,
        exitFailure,
      );
    case 'number_not_found':
      return fail(
        `no tenant has phone_number_id ${error.phoneNumberId} (prestabot tenants list shows the numbers)`,
        exitFailure,
      );
    case 'no_flow_key':
      return fail(
        `number ${error.phoneNumberId} has no Flows key: run prestabot flows keygen --phone-number-id ${error.phoneNumberId}, or set FLOWS_PRIVATE_KEY`,
        exitFailure,
      );
    case 'graph_refused':
      return fail(`Meta refused the key: ${describeSendFailure(error.failure)}`, exitFailure);
    case 'no_access_token':
      return fail(
        `number ${error.phoneNumberId} has no access token (tenants rotate-token), and WHATSAPP_ACCESS_TOKEN is not set`,
        exitFailure,
      );
    case 'tenant_not_found':
      return fail(
        'phoneNumberId' in error && error.phoneNumberId !== undefined
          ? `no tenant has phone_number_id ${error.phoneNumberId} (prestabot tenants list shows the numbers)`
          : `no tenant with id ${error.tenantId} (prestabot tenants list shows the tenants)`,
        exitFailure,
      );
    case 'encryption_key_missing':
      return fail(error.message, exitUsage);
    case 'secret_unreadable':
      return fail(error.message, exitFailure);
    case 'storage_error':
      return fail(
        `database: ${error.message}${/\b42501\b/.test(error.message) ? adminLoginHint : ''}`,
        exitFailure,
      );
  }
};
