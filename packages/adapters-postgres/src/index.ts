export { postgresStorageModule } from './container-module.ts';
export type {
  ApplicationRoleStatus,
  AppSecretHealth,
  DatabaseHealth,
  DatabaseLogin,
  NumberHealth,
  TableIsolation,
} from './health.ts';
export type { Migration, MigrationReport, MigrationStatus } from './migrate.ts';
export { applicationRole } from './sql/scopes.ts';
export {
  createPostgresStorage,
  defaultConnectTimeoutMs,
  defaultPoolSize,
  type PostgresStorage,
  type PostgresStorageOptions,
} from './storage.ts';
export { postgresTokens } from './tokens.ts';
