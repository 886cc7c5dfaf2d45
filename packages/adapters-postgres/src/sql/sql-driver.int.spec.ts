import { expectErr, expectOk, fixtureTenant } from '@prestabot/application/testing';
import { errAsync, okAsync, ResultAsync } from '@prestabot/domain';
import { expect, it } from 'vitest';
import { describeOnEachDriver } from '../testing/each-driver.ts';
import { applicationRole, crossTenantScope, pinnedSearchPath, tenantScope } from './scopes.ts';
import type { SqlSession } from './sql-driver.ts';

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
  it('undoes a failed section on its own, and commits the sections before and after it with the rest', async () => {
    const { driver } = context();
    const mark = crypto.randomUUID();
    await expectOk(driver.query('CREATE TABLE IF NOT EXISTS public.driver_probe (mark text)'));
    const insert = (session: SqlSession, what: string) =>
      session.query(
        "INSERT INTO public.driver_probe (mark) VALUES ($1 || ':' || $2 || ':' || current_setting('app.tenant_id', true))",
        [mark, what],
      );
    const [a, b, c] = [fixtureTenant().id, fixtureTenant().id, fixtureTenant().id];
    const outcomes = await expectOk(
      driver.transaction(
        (session) =>
          new ResultAsync(
            (async () => {
              const first = await session.section({ 'app.tenant_id': a }, (inner) => insert(inner, 'first'));
              // A statement fails: the section is undone, the transaction goes on.
              const failing = await session.section({ 'app.tenant_id': b }, (inner) =>
                insert(inner, 'failing').andThen(() => inner.query('SELECT 1/0')),
              );
              // Err from the work itself, every statement having succeeded: undone too.
              const refused = await session.section({ 'app.tenant_id': b }, (inner) =>
                insert(inner, 'refused').andThen(() => errAsync('no' as const)),
              );
              const thrown = await session
                .section({ 'app.tenant_id': b }, (inner) =>
                  insert(inner, 'thrown').andThen(() => {
                    throw new Error('a bug');
                  }),
                )
                .then(
                  () => 'returned',
                  (bug: unknown) => (bug instanceof Error ? bug.message : 'not an Error'),
                );
              const last = await session.section({ 'app.tenant_id': c }, (inner) => insert(inner, 'last'));
              await insert(session, 'outside');
              return okAsync([first.isOk(), failing.isErr(), refused.isErr(), thrown, last.isOk()]);
            })().then((result) => result),
          ),
      ),
    );
    expect(outcomes).toEqual([true, true, true, 'a bug', true]);
    const stored = await expectOk(
      driver.query('SELECT mark FROM public.driver_probe WHERE mark LIKE $1 ORDER BY mark', [`${mark}:%`]),
    );
    // Each section ran under its own settings; what ran after the last one has the last one's.
    expect(stored.map((row) => String(row.mark).slice(mark.length + 1)).sort()).toEqual(
      [`first:${a}`, `last:${c}`, `outside:${c}`].sort(),
    );
  });
});
