import { describe, expect, it } from 'vitest';
import { runtimeLoginWarning } from './database-login.ts';

describe('the runtime login', () => {
  it('is fine when it cannot leave row-level security', () => {
    expect(runtimeLoginWarning({ name: 'prestabot_app', privileged: false })).toBeUndefined();
  });

  it('is warned about when it can, naming the role and the fix, never a URL', () => {
    const warning = runtimeLoginWarning({ name: 'postgres', privileged: true });
    expect(warning?.problem).toContain('DATABASE_URL logs in as postgres');
    expect(warning?.fix).toContain('DATABASE_MIGRATION_URL');
    expect(warning?.fix).toContain('prestabot_app');
    expect(JSON.stringify(warning)).not.toContain('postgres://');
  });
});
