import { expectErr, expectOk, fixtureTenant } from '@prestabot/application/testing';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from '../testing/each-driver.ts';
import { applicationRole, crossTenantScope, pinnedSearchPath, tenantScope } from './scopes.ts';

describeOnEachDriver('the SQL driver', (context) => {
  it('runs a statement written ahead of its settings under those settings, and only then', async () => {
    const { driver } = context();
    const tenant = fixtureTenant();
    const rows = await expectOk(
      driver.transaction(
        (session) =>
          session.query("SELECT current_user AS role, current_setting('app.tenant_id', true) AS tenant"),
        tenantScope(tenant.id),
      ),
    );
    expect(rows).toEqual([{ role: applicationRole, tenant: tenant.id }]);
    // Settings are transaction-local: the next statement on the pooled connection has none of them.
    const after = await expectOk(driver.query("SELECT current_setting('app.tenant_id', true) AS tenant"));
    expect(after[0]?.tenant ?? '').toBe('');
  });

  it('runs tenant transactions on the search_path every function of the schema pins', async () => {
    const { driver } = context();
    // A foreign-key check fired under one path and then under another is planned again (see scopes.ts).
    const pinned = await expectOk(
      driver.query(
        `SELECT DISTINCT substr(setting, length('search_path=') + 1) AS path
         FROM pg_catalog.pg_proc p
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         CROSS JOIN LATERAL unnest(p.proconfig) AS setting
         WHERE n.nspname = 'prestabot' AND setting LIKE 'search\\_path=%'`,
      ),
    );
    expect(pinned).toEqual([{ path: pinnedSearchPath }]);
    const inTransaction = await expectOk(
      driver.transaction(
        (session) => session.query("SELECT current_setting('search_path') AS path"),
        tenantScope(fixtureTenant().id),
      ),
    );
    expect(inTransaction).toEqual([{ path: pinnedSearchPath }]);
  });

  it('runs nothing the work issued when its settings cannot be applied, even written ahead of them', async () => {
    const { driver } = context();
    const marker = `pipelined-${crypto.randomUUID()}`;
    await expectOk(driver.query('CREATE TABLE IF NOT EXISTS public.driver_probe (mark text)'));
    await expectErr(
      driver.transaction(
        (session) => session.query('INSERT INTO public.driver_probe (mark) VALUES ($1)', [marker]),
        { role: 'a_role_that_does_not_exist' },
      ),
    );
    const stored = await expectOk(
      driver.query('SELECT count(*)::integer AS n FROM public.driver_probe WHERE mark = $1', [marker]),
    );
    expect(stored).toEqual([{ n: 0 }]);
  });

  it('reports a failed statement and keeps nothing of its transaction', async () => {
    const { driver } = context();
    const marker = `rolled-back-${crypto.randomUUID()}`;
    await expectOk(driver.query('CREATE TABLE IF NOT EXISTS public.driver_probe (mark text)'));
    const failed = await expectErr(
      driver.transaction((session) =>
        session
          .query('INSERT INTO public.driver_probe (mark) VALUES ($1)', [marker])
          .andThen(() => session.query('SELECT 1/0')),
      ),
    );
    expect(failed).toMatchObject({ type: 'storage_error' });
    const stored = await expectOk(
      driver.query('SELECT count(*)::integer AS n FROM public.driver_probe WHERE mark = $1', [marker]),
    );
    expect(stored).toEqual([{ n: 0 }]);
    expect(
      await expectOk(driver.transaction((session) => session.query('SELECT 1 AS one'), crossTenantScope)),
    ).toEqual([{ one: 1 }]);
  });
});
