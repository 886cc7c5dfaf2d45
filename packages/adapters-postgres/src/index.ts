export {
  AesGcmSecretCipher,
  createAesGcmSecretCipher,
  type EncryptionKeyError,
  type EncryptionKeySettings,
  encryptionKeyTexts,
} from './cipher/aes-gcm-secret-cipher.ts';
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
/** Test support (no package.json `./testing` entry yet): a fresh, migrated database per test file. */
export {
  benchmarkServerUrl,
  createTestDatabase,
  openTestStorage,
  type TestDatabase,
  type TestStorage,
} from './testing/test-database.ts';
export { postgresTokens } from './tokens.ts';
