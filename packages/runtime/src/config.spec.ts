import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('configuration', () => {
  it('runs on embedded defaults with nothing set', () => {
    expect(loadConfig({})._unsafeUnwrap()).toEqual({
      databasePoolMode: 'session',
      dataDir: './.prestabot',
      port: 3000,
      graph: { baseUrl: 'https://graph.facebook.com', version: 'v24.0' },
      encryptionKeys: {},
      retentionDays: 30,
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const key = btoa('k'.repeat(32));
    const config = loadConfig({
      DATABASE_URL: 'postgres://app@db:5432/prestabot',
      DATABASE_MIGRATION_URL: 'postgres://owner@db:5432/prestabot',
      DATABASE_POOL_MODE: 'transaction',
      PORT: '8080',
      WHATSAPP_VERIFY_TOKEN: 'verify',
      META_APP_SECRET: 'secret',
      WHATSAPP_ACCESS_TOKEN: 'EAAG',
      META_GRAPH_URL: 'http://127.0.0.1:9999',
      META_GRAPH_VERSION: 'v25.0',
      PRESTABOT_ENCRYPTION_KEY: key,
      PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: `${key}, ${key}`,
      WHATSAPP_PROFILE_FLOW_ID: '1234567890',
      PRESTABOT_RETENTION_DAYS: '90',
      LOG_LEVEL: 'debug',
    })._unsafeUnwrap();
    expect(config).toMatchObject({
      databaseUrl: 'postgres://app@db:5432/prestabot',
      databaseMigrationUrl: 'postgres://owner@db:5432/prestabot',
      databasePoolMode: 'transaction',
      port: 8080,
      verifyToken: 'verify',
      deploymentAppSecret: 'secret',
      fallbackAccessToken: 'EAAG',
      graph: { baseUrl: 'http://127.0.0.1:9999', version: 'v25.0' },
      encryptionKeys: { current: key, previous: `${key}, ${key}` },
      profileFlowId: '1234567890',
      retentionDays: 90,
      logLevel: 'debug',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ WHATSAPP_ACCESS_TOKEN: '', PORT: '' })._unsafeUnwrap()).toMatchObject({ port: 3000 });
    expect(loadConfig({ WHATSAPP_ACCESS_TOKEN: '' })._unsafeUnwrap().fallbackAccessToken).toBeUndefined();
  });

  it('names each bad value and the expected form, one line each, all at once', () => {
    const problems = loadConfig({
      PORT: 'eighty',
      META_GRAPH_VERSION: 'v21.0',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      DATABASE_POOL_MODE: 'statement',
    })._unsafeUnwrapErr();
    expect(problems.map((problem) => problem.variable).sort()).toEqual([
      'DATABASE_POOL_MODE',
      'DATABASE_URL',
      'LOG_LEVEL',
      'META_GRAPH_VERSION',
      'PORT',
    ]);
    const byVariable = Object.fromEntries(problems.map((problem) => [problem.variable, problem.message]));
    expect(byVariable.PORT).toBe('PORT="eighty" must be a port number from 0 to 65535');
    expect(byVariable.META_GRAPH_VERSION).toBe(
      'META_GRAPH_VERSION="v21.0" must be a Graph API version such as v24.0 (v24.0 or newer)',
    );
    expect(byVariable.DATABASE_POOL_MODE).toBe(
      "DATABASE_POOL_MODE=\"statement\" must be 'session' (a server, or a session-mode pooler) or 'transaction' (a transaction-mode pooler)",
    );
    expect(byVariable.LOG_LEVEL).toMatch(/^LOG_LEVEL="loud" must be one of fatal, error/);
    for (const message of problems.map((problem) => problem.message)) expect(message).not.toContain('\n');
  });

  it('keeps finished queue rows at least as long as Meta may redeliver a webhook (7 days)', () => {
    expect(loadConfig({ PRESTABOT_RETENTION_DAYS: '7' })._unsafeUnwrap().retentionDays).toBe(7);
    const expected =
      'must be a whole number of days from 7 (Meta redelivers a webhook for that long) to 36500';
    for (const value of ['6', '0', '-30', '7.5', 'month', '36501'])
      expect(loadConfig({ PRESTABOT_RETENTION_DAYS: value })._unsafeUnwrapErr(), value).toEqual([
        {
          variable: 'PRESTABOT_RETENTION_DAYS',
          message: `PRESTABOT_RETENTION_DAYS=${JSON.stringify(value)} ${expected}`,
        },
      ]);
  });

  it('takes a migration URL only beside a DATABASE_URL, and never repeats either back', () => {
    expect(
      loadConfig({ DATABASE_MIGRATION_URL: 'postgres://owner:hunter2@db/prestabot' })._unsafeUnwrapErr(),
    ).toEqual([
      {
        variable: 'DATABASE_MIGRATION_URL',
        message:
          'DATABASE_MIGRATION_URL is for a PostgreSQL server: set DATABASE_URL too (the runtime login), or unset it',
      },
    ]);
    const problems = loadConfig({
      DATABASE_URL: 'postgres://prestabot_app@db/prestabot',
      DATABASE_MIGRATION_URL: 'mysql://owner:hunter2@db',
    })._unsafeUnwrapErr();
    expect(problems.map((problem) => problem.message)).toEqual([
      'DATABASE_MIGRATION_URL must be a postgres:// or postgresql:// connection URL',
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/hunter2/);
  });

  it('never repeats a secret value back', () => {
    const problems = loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db' })._unsafeUnwrapErr();
    expect(problems.map((problem) => problem.message)).toEqual([
      'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/hunter2/);
  });
});
