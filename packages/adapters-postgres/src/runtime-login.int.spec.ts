import { expectErr, expectOk, seedTenant } from '@prestabot/application/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationRole } from './sql/scopes.ts';
import type { SqlDriver } from './sql/sql-driver.ts';
import { openSqlDriver, postgresStorageOn } from './storage.ts';
import { postgresSkipReason, testServerUrl } from './testing/each-driver.ts';
import { openTestStorage, type TestStorage } from './testing/test-database.ts';

// `serve` and `worker` may log in as the application role itself (DATABASE_URL), the migrations running
// with another URL: then nothing a statement does, not even RESET ROLE, takes it out of row-level security.
describe.skipIf(testServerUrl === undefined)(
  `the runtime login prestabot_app on PostgreSQL${testServerUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    let admin: TestStorage;
    let runtime: SqlDriver;
    beforeAll(async () => {
      admin = await openTestStorage(testServerUrl);
      const url = new URL(admin.databaseUrl ?? '');
      url.username = applicationRole;
      url.password = '';
      runtime = await expectOk(openSqlDriver({ databaseUrl: url.toString(), poolSize: 2 }));
    }, 120_000);
    afterAll(async () => {
      await runtime?.close();
      await admin?.release();
    }, 120_000);

    /** One statement on a runtime connection, after RESET ROLE and with the tenant scope gone. */
    const unscoped = (text: string) =>
      runtime.transaction((session) =>
        session
          .query('RESET ROLE')
          .andThen(() => session.query("SELECT set_config('app.tenant_id', '', true)"))
          .andThen(() => session.query(text)),
      );

    it('runs the web and worker paths: tenant units of work and the cross-tenant calls', async () => {
      const storage = postgresStorageOn(runtime);
      const { tenant, number } = await seedTenant(admin.storage);
      const route = await expectOk(storage.directory.findNumber(number.phoneNumberId));
      expect(route?.tenant.id).toBe(tenant.id);
      const numbers = await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.numbers.list()));
      expect(numbers.map((n) => n.phoneNumberId)).toEqual([number.phoneNumberId]);
      await expectOk(storage.outboxQueue.depth(new Date()));
      await expectOk(storage.directory.listApps());
      await expectOk(storage.flowKeyDirectory.listAll());
    });

    it('warms up its connections before serving: every function the warm-up calls is granted to it', async () => {
      expect(await expectOk(postgresStorageOn(runtime, { poolSize: 2 }).warmUp())).toBe(2);
    });

    it('tells the runtime login from one that can leave row-level security (what doctor and serve warn of)', async () => {
      expect(await expectOk(postgresStorageOn(runtime).login())).toEqual({
        name: applicationRole,
        privileged: false,
      });
      expect(await expectOk(admin.storage.login())).toMatchObject({ privileged: true });
    });

    it('sees no tenant after RESET ROLE, and cannot become a role that bypasses row-level security', async () => {
      await seedTenant(admin.storage);
      await seedTenant(admin.storage);
      const [login] = await expectOk(
        unscoped('SELECT session_user::text AS login, current_user::text AS role'),
      );
      expect(login).toEqual({ login: applicationRole, role: applicationRole });
      for (const table of ['tenants', 'whatsapp_numbers', 'contacts', 'inbox', 'outbox']) {
        expect(await expectOk(unscoped(`SELECT * FROM prestabot.${table}`)), table).toEqual([]);
      }
      expect((await expectErr(unscoped('SELECT * FROM prestabot.meta_apps'))).message).toContain('42501');
      expect((await expectErr(unscoped('SET ROLE postgres'))).message).toContain('42501');
    });

    it('may not register apps, list tenants, nor prune what Meta may still redeliver', async () => {
      for (const call of [
        "SELECT prestabot.register_meta_app(gen_random_uuid(), NULL, 'k', 'c')",
        'SELECT * FROM prestabot.list_tenants_with_numbers()',
        'SELECT * FROM prestabot.prune_finished(now(), 10)',
        "SELECT * FROM prestabot.prune_finished(now() - interval '6 days', 10)",
      ]) {
        expect((await expectErr(unscoped(call))).message, call).toContain('42501');
      }
      const [pruned] = await expectOk(
        unscoped("SELECT * FROM prestabot.prune_finished(now() - interval '8 days', 10)"),
      );
      expect(pruned).toEqual({ pruned_inbox: 0, pruned_outbox: 0 });
    });
  },
);
