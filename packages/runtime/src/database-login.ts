import type { DatabaseLogin } from '@prestabot/adapters-postgres';

export type LoginWarning = { readonly problem: string; readonly fix: string };

/**
 * What `serve` logs and `doctor` reports when DATABASE_URL's role can leave row-level security (single-URL
 * mode): undefined when it cannot. Names the role, never the URL.
 */
export const runtimeLoginWarning = (login: DatabaseLogin): LoginWarning | undefined =>
  login.privileged
    ? {
        problem: `DATABASE_URL logs in as ${login.name}, which can leave row-level security (RESET ROLE sees every tenant)`,
        fix: 'log in as prestabot_app instead, and give the migrating role to DATABASE_MIGRATION_URL (README: Database roles)',
      }
    : undefined;
