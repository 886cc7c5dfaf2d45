/** Test support: a fresh, migrated database per test file or benchmark, on a PostgreSQL server or PGlite. */
export {
  benchmarkServerUrl,
  createTestDatabase,
  openTestStorage,
  type TestDatabase,
  type TestStorage,
} from './test-database.ts';
