import {
  expectErr,
  expectOk,
  fixturePhone,
  fixtureUuid,
  seedContact,
  seedTenant,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import type { AgreementId, AppId, TenantId, Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate, migrationStatus } from './migrate.ts';
import { crossTenantScope, tenantScope } from './sql/scopes.ts';
import { createPostgresStorage, openSqlDriver } from './storage.ts';
import { describeOnEachDriver, driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { queryIn, tenantTablesSql, tryIn } from './testing/raw-sql.ts';
import { createTestDatabase } from './testing/test-database.ts';

const expectedTenantTables = [
  'agreements',
  'contacts',
  'conversations',
  'customer_service_windows',
  'flow_keys',
  'inbox',
  'message_pricing',
  'messages',
  'outbox',
  'outbox_recipient_holds',
  'reminders',
  'templates',
  'tenants',
  'whatsapp_numbers',
];

describeOnEachDriver('schema and isolation', (context) => {
  const tenantTables = async () =>
    (await expectOk(context().driver.query(tenantTablesSql))).map((row) => String(row.table));

  describe('row-level security', () => {
    it('is enabled and forced on every tenant table, with a policy on the scoped tenant for the app role only', async () => {
      const rows = await expectOk(
        context().driver.query(
          `
          SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
                 coalesce(array_agg(pg_get_expr(p.polqual, p.polrelid)) FILTER (WHERE p.oid IS NOT NULL), '{}') AS quals,
                 coalesce(array_agg(pg_get_expr(p.polwithcheck, p.polrelid)) FILTER (WHERE p.oid IS NOT NULL), '{}') AS checks,
                 coalesce(array_agg(p.polroles::regrole[]::text) FILTER (WHERE p.oid IS NOT NULL), '{}') AS roles
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_policy p ON p.polrelid = c.oid
          WHERE n.nspname = 'prestabot' AND c.relname = ANY ($1)
          GROUP BY c.oid
          ORDER BY c.relname`,
          [await tenantTables()],
        ),
      );
      expect(rows.map((row) => row.table)).toEqual(expectedTenantTables);
      for (const row of rows) {
        expect(row, String(row.table)).toMatchObject({ enabled: true, forced: true });
        expect(row.quals, String(row.table)).toHaveLength(1);
        expect(String((row.quals as string[])[0])).toContain('prestabot_current_tenant()');
        expect(String((row.checks as string[])[0])).toContain('prestabot_current_tenant()');
        expect(row.roles).toEqual(['{prestabot_app}']);
      }
    });

    it('closes the deployment tables to everyone but their owner (enabled, forced, no policy)', async () => {
      const rows = await expectOk(
        context().driver.query(`
          SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
                 (SELECT count(*)::integer FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
                 has_table_privilege('prestabot_app', c.oid, 'SELECT') AS app_reads
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'prestabot' AND c.relname IN ('meta_apps', 'number_send_pacing')
          ORDER BY c.relname`),
      );
      expect(rows).toEqual([
        { table: 'meta_apps', enabled: true, forced: true, policies: 0, app_reads: false },
        { table: 'number_send_pacing', enabled: true, forced: true, policies: 0, app_reads: false },
      ]);
    });

    it('keeps every tenant_id NOT NULL', async () => {
      const nullable = await expectOk(
        context().driver.query(`
          SELECT c.relname AS table FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'prestabot' AND c.relkind = 'r' AND a.attname = 'tenant_id' AND NOT a.attnotnull`),
      );
      expect(nullable).toEqual([]);
    });

    it('shows a session without a tenant zero rows of every tenant table: not an error, not everything', async () => {
      const { storage, driver } = context();
      const { tenant, number } = await seedTenant(storage);
      await seedContact(storage, tenant.id);
      await storeInInbox(storage.inboxQueue, [textInboxEntry(number.phoneNumberId)]);
      await expectOk(
        storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([textOutboxEntry(number.phoneNumberId)])),
      );
      for (const table of await tenantTables()) {
        const counted = `SELECT count(*)::integer AS rows FROM prestabot.${table}`;
        expect(await expectOk(queryIn(driver, crossTenantScope, counted)), table).toEqual([{ rows: 0 }]);
        expect(
          await expectOk(queryIn(driver, { ...crossTenantScope, 'app.tenant_id': '' }, counted)),
          table,
        ).toEqual([{ rows: 0 }]);
        const all = await expectOk(driver.query(counted));
        if (['tenants', 'whatsapp_numbers', 'contacts', 'inbox', 'outbox'].includes(table))
          expect(all[0]?.rows, table).toBeGreaterThan(0);
      }
    });

    it('keeps a number or contact its queues or log name: no delete, no new key, no truncate alone', async () => {
      const { storage, driver } = context();
      const { tenant, number } = await seedTenant(storage);
      const contact = await seedContact(storage, tenant.id);
      await expectOk(
        storage.unitOfWork.run(tenant.id, (r) =>
          r.outbox.enqueue([textOutboxEntry(number.phoneNumberId, { contactId: contact.id })]),
        ),
      );
      const asOwner = {};
      for (const [statement, params] of [
        ['DELETE FROM prestabot.whatsapp_numbers WHERE phone_number_id = $1', [number.phoneNumberId]],
        [
          "UPDATE prestabot.whatsapp_numbers SET phone_number_id = $1 || '0' WHERE phone_number_id = $1",
          [number.phoneNumberId],
        ],
        ['DELETE FROM prestabot.contacts WHERE id = $1', [contact.id]],
        ['UPDATE prestabot.contacts SET id = gen_random_uuid() WHERE id = $1', [contact.id]],
      ] as const)
        expect(await expectErr(tryIn(driver, asOwner, statement, [...params])), statement).toMatchObject({
          reason: 'constraint',
          message: expect.stringContaining('23503'),
        });
      expect(await expectErr(tryIn(driver, asOwner, 'TRUNCATE prestabot.tenants CASCADE'))).toMatchObject({
        message: expect.stringContaining('the inbox, the outbox or the message log name its rows'),
      });
    });

    it('refuses a write without a tenant scope, and one tagged with another tenant', async () => {
      const { storage, driver } = context();
      const a = await seedTenant(storage);
      const b = await seedTenant(storage);
      await seedContact(storage, a.tenant.id);
      const insertContact = `INSERT INTO prestabot.contacts (id, phone_e164) VALUES (gen_random_uuid(), '+56911111111')`;
      expect(await expectErr(tryIn(driver, crossTenantScope, insertContact))).toMatchObject({
        reason: 'constraint',
      });
      expect(
        await expectErr(
          tryIn(
            driver,
            tenantScope(a.tenant.id),
            `INSERT INTO prestabot.contacts (id, tenant_id, phone_e164) VALUES (gen_random_uuid(), $1, '+56911111111')`,
            [b.tenant.id],
          ),
        ),
      ).toMatchObject({ reason: 'constraint' });
      expect(
        await expectErr(
          tryIn(driver, tenantScope(a.tenant.id), 'UPDATE prestabot.contacts SET tenant_id = $1', [
            b.tenant.id,
          ]),
        ),
      ).toMatchObject({ reason: 'constraint' });
    });
  });

  describe('the application role', () => {
    it('may log in (the runtime login), is no superuser, never bypasses row-level security, owns nothing, is in no role', async () => {
      const [role] = await expectOk(
        context().driver.query(`
          SELECT r.rolcanlogin AS login, r.rolsuper AS superuser, r.rolbypassrls AS bypass,
                 (SELECT count(*)::integer FROM pg_class c WHERE c.relowner = r.oid)
                 + (SELECT count(*)::integer FROM pg_proc p WHERE p.proowner = r.oid)
                 + (SELECT count(*)::integer FROM pg_type t WHERE t.typowner = r.oid)
                 + (SELECT count(*)::integer FROM pg_namespace s WHERE s.nspowner = r.oid) AS owned,
                 (SELECT count(*)::integer FROM pg_auth_members m WHERE m.member = r.oid) AS memberships
          FROM pg_roles r WHERE r.rolname = 'prestabot_app'`),
      );
      expect(role).toEqual({ login: true, superuser: false, bypass: false, owned: 0, memberships: 0 });
    });

    it('is what every application transaction acts as', async () => {
      const { driver } = context();
      const tenantId = crypto.randomUUID() as TenantId;
      expect(await expectOk(queryIn(driver, tenantScope(tenantId), 'SELECT current_user AS who'))).toEqual([
        { who: 'prestabot_app' },
      ]);
      expect(await expectOk(queryIn(driver, crossTenantScope, 'SELECT current_user AS who'))).toEqual([
        { who: 'prestabot_app' },
      ]);
    });

    it('may execute the definer functions but the admin ones, which all pin their search_path; nobody else may', async () => {
      const rows = await expectOk(
        context().driver.query(`
          SELECT p.proname AS name,
                 has_function_privilege('prestabot_app', p.oid, 'EXECUTE') AS app,
                 coalesce((SELECT bool_or(a.grantee = 0) FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'), true) AS public,
                 array_to_string(p.proconfig, ',') AS config
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'prestabot' AND p.prosecdef
          ORDER BY p.proname`),
      );
      expect(rows.map((row) => row.name)).toEqual([
        'apply_statuses',
        'claim_inbox',
        'claim_outbox',
        'claim_reminders',
        'find_number_route',
        'find_number_routes',
        'find_waba_numbers',
        'inbox_depth',
        'lease_sends',
        'lease_tenant_sends',
        'list_flow_keys',
        'list_meta_apps',
        'list_tenants_with_numbers',
        'messaging_limit_room',
        'outbox_depth',
        'prune_finished',
        'quarantine_claimed',
        'record_send_outcomes',
        'register_meta_app',
        'renew_leases',
        'reopen_inbox_entries',
        'store_webhook_items',
        'usage_by_number',
      ]);
      // Admin only (0015): the admin commands reach them as the migrating role, which owns them.
      const adminOnly = ['list_tenants_with_numbers', 'register_meta_app'];
      for (const row of rows) {
        expect(row, String(row.name)).toMatchObject({
          app: !adminOnly.includes(String(row.name)),
          public: false,
        });
        expect(String(row.config)).toContain('search_path=pg_catalog, pg_temp');
      }
      // What the definer functions use inside: the application role may not call it on its own.
      const internal = await expectOk(
        context().driver.query(`
          SELECT p.proname AS name, has_function_privilege('prestabot_app', p.oid, 'EXECUTE') AS app
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'prestabot'
            AND p.proname IN ('apply_status_batch', 'claim_outbox_rows', 'claimed_sends', 'lease_sends_of',
                              'lock_send_lanes', 'pace_lanes', 'place_send_slots', 'record_reach', 'statuses_of',
                              'within_messaging_limits')
          ORDER BY p.proname`),
      );
      expect(internal).toEqual([
        { name: 'apply_status_batch', app: false },
        { name: 'claim_outbox_rows', app: false },
        { name: 'claimed_sends', app: false },
        { name: 'lease_sends_of', app: false },
        { name: 'lock_send_lanes', app: false },
        { name: 'pace_lanes', app: false },
        { name: 'place_send_slots', app: false },
        { name: 'record_reach', app: false },
        { name: 'statuses_of', app: false },
        { name: 'within_messaging_limits', app: false },
      ]);
    });
  });

  describe('cross-tenant definer functions', () => {
    const t0 = new Date('2026-03-02T12:00:00.000Z');

    it('route any tenant’s number, list every tenant and app, never return a token', async () => {
      const { storage, driver } = context();
      const a = await seedTenant(storage);
      const b = await seedTenant(storage);
      const [route] = await expectOk(
        queryIn(driver, crossTenantScope, 'SELECT * FROM prestabot.find_number_route($1)', [
          b.number.phoneNumberId,
        ]),
      );
      expect(route).toMatchObject({ tenant_id: b.tenant.id, phone_number_id: b.number.phoneNumberId });
      expect(Object.keys(route ?? {}).filter((column) => /key|cipher/.test(column))).toEqual([]);
      const listing = await expectOk(storage.directory.listTenants());
      expect(listing.map((entry) => entry.tenant.id)).toEqual(
        expect.arrayContaining([a.tenant.id, b.tenant.id]),
      );
      const appId = await expectOk(
        storage.apps.register({ id: crypto.randomUUID() as AppId, secret: { keyId: 'k', ciphertext: 'c' } }),
      );
      expect((await expectOk(storage.directory.listApps())).map((app) => app.id)).toContain(appId);
    });

    it('claim and count inbox and outbox entries of several tenants', async () => {
      const { storage } = context();
      const tenants = await Promise.all([seedTenant(storage), seedTenant(storage)]);
      const entries = tenants.map(({ number }) => textInboxEntry(number.phoneNumberId, { sentAt: t0 }));
      for (const [index, { tenant }] of tenants.entries()) {
        await storeInInbox(storage.inboxQueue, [entries[index]!]);
        await expectOk(
          storage.unitOfWork.run(tenant.id, (r) =>
            r.outbox.enqueue([textOutboxEntry(tenants[index]!.number.phoneNumberId, { at: t0 })]),
          ),
        );
      }
      const ids = entries.map((entry) => entry.id);
      expect((await expectOk(storage.inboxQueue.depth(t0))).pending).toBeGreaterThanOrEqual(2);
      const inbox = await expectOk(
        storage.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: t0, ids }),
      );
      expect(inbox.map((entry) => entry.tenantId).sort()).toEqual(
        tenants.map(({ tenant }) => tenant.id).sort(),
      );
      expect((await expectOk(storage.outboxQueue.depth(t0))).pending).toBeGreaterThanOrEqual(2);
      const sends = await expectOk(
        storage.outboxQueue.claim({ owner: 'w', limit: 500, leaseMs: 1000, now: t0, horizonMs: 1000 }),
      );
      const mine = sends.filter((send) =>
        tenants.some(({ number }) => number.phoneNumberId === send.phoneNumberId),
      );
      expect(new Set(mine.map((send) => send.tenantId)).size).toBe(2);
    });

    it('claim due reminders of several tenants, each with its tenant, and each only once', async () => {
      const { storage } = context();
      const tenants = await Promise.all([seedTenant(storage), seedTenant(storage)]);
      const reminderIds: string[] = [];
      for (const { tenant, number } of tenants) {
        const lender = await seedContact(storage, tenant.id, fixturePhone());
        const borrower = await seedContact(storage, tenant.id, fixturePhone());
        const agreementId = fixtureUuid() as AgreementId;
        const reminderId = fixtureUuid();
        await expectOk(
          storage.unitOfWork.run(tenant.id, (r) =>
            r.agreements
              .create({
                id: agreementId,
                tenantId: tenant.id,
                phoneNumberId: number.phoneNumberId,
                lenderId: lender.id,
                borrowerId: borrower.id,
                subject: { kind: 'object', description: 'taladro' },
                dueDate: { year: 2026, month: 3, day: 2 },
                status: 'active',
                createdAt: t0,
              })
              .andThen(() =>
                r.reminders.replacePlan(agreementId, [
                  {
                    id: reminderId,
                    agreementId,
                    kind: 'due_day',
                    localDate: { year: 2026, month: 3, day: 2 },
                    scheduledAt: t0,
                    recipientId: borrower.id,
                  },
                ]),
              ),
          ),
        );
        reminderIds.push(reminderId);
      }
      const claim = () =>
        expectOk(storage.reminderQueue.claimDue({ owner: 'w', now: t0, limit: 500, leaseMs: 60_000 })).then(
          (claimed) => claimed.filter((reminder) => reminderIds.includes(reminder.id)),
        );
      const claimed = await claim();
      expect(claimed.map((reminder) => [reminder.id, reminder.tenantId]).sort()).toEqual(
        tenants.map(({ tenant }, index) => [reminderIds[index], tenant.id]).sort(),
      );
      expect(await claim()).toEqual([]);
    });

    it('refuse to run inside a tenant-scoped transaction', async () => {
      const { storage, driver } = context();
      const { tenant } = await seedTenant(storage);
      const calls = [
        ["SELECT * FROM prestabot.find_number_route('1')", []],
        ["SELECT * FROM prestabot.find_number_routes('{1}')", []],
        ['SELECT * FROM prestabot.list_tenants_with_numbers()', []],
        ['SELECT * FROM prestabot.list_meta_apps()', []],
        ["SELECT prestabot.register_meta_app(gen_random_uuid(), NULL, 'k', 'c')", []],
        ["SELECT * FROM prestabot.claim_inbox('w', 10, 1000, now(), NULL)", []],
        ['SELECT * FROM prestabot.inbox_depth(now())', []],
        ["SELECT * FROM prestabot.claim_outbox('w', 10, 1000, now(), 1000, 0.97)", []],
        ["SELECT * FROM prestabot.lease_sends('{}', 'w', 1000, now(), 1000, 0.97)", []],
        ['SELECT * FROM prestabot.outbox_depth(now())', []],
        ["SELECT * FROM prestabot.claim_reminders('w', 10, 1000, now())", []],
        ['SELECT * FROM prestabot.list_flow_keys()', []],
        ['SELECT * FROM prestabot.prune_finished(now(), 10)', []],
      ] as const;
      for (const [call, params] of calls) {
        const error = await expectErr(tryIn(driver, tenantScope(tenant.id), call, params));
        expect(error, call).toMatchObject({ reason: 'constraint' });
        expect(error.message, call).toContain('42501');
      }
    });

    it('but lease_tenant_sends, which runs only inside one: outside, it has no tenant to keep to', async () => {
      const { driver } = context();
      const call = "SELECT * FROM prestabot.lease_tenant_sends('{}', 'w', 1000, now(), 1000, 0.97)";
      const error = await expectErr(tryIn(driver, crossTenantScope, call, []));
      expect(error).toMatchObject({ reason: 'constraint' });
      expect(error.message).toContain('42501');
    });

    it('leave raw cross-tenant reads to row-level security: a tenant session sees only its own rows', async () => {
      const { storage, driver } = context();
      const a = await seedTenant(storage);
      const b = await seedTenant(storage);
      const rows = await expectOk(
        queryIn(
          driver,
          tenantScope(a.tenant.id),
          'SELECT tenant_id, phone_number_id FROM prestabot.whatsapp_numbers',
        ),
      );
      expect(rows).toEqual([{ tenant_id: a.tenant.id, phone_number_id: a.number.phoneNumberId }]);
      expect(rows).not.toContainEqual(expect.objectContaining({ tenant_id: b.tenant.id }));
    });
  });

  describe('Flows keys and contact profiles', () => {
    it('keep one current key per number and one per tenant: a NULL number is no way round it', async () => {
      const { storage, driver } = context();
      const { tenant, number } = await seedTenant(storage);
      const addCurrentKey = `INSERT INTO prestabot.flow_keys (id, phone_number_id, fingerprint, private_key_key_id,
          private_key_ciphertext, created_at)
        VALUES (gen_random_uuid(), $1, '0123456789abcdef', 'k1', 'sealed', now())`;
      for (const phoneNumberId of [number.phoneNumberId, null]) {
        await expectOk(queryIn(driver, tenantScope(tenant.id), addCurrentKey, [phoneNumberId]));
        const error = await expectErr(tryIn(driver, tenantScope(tenant.id), addCurrentKey, [phoneNumberId]));
        expect(error, String(phoneNumberId)).toMatchObject({ reason: 'duplicate' });
        expect(error.message).toContain(phoneNumberId === null ? 'current_per_tenant' : 'current_per_number');
      }
    });

    it('keep bank details sealed whole, and an email an address', async () => {
      const { storage, driver } = context();
      const { tenant } = await seedTenant(storage);
      const contact = await seedContact(storage, tenant.id);
      const refusals = [
        ['bank_details_key_id = $2', 'k1', 'contacts_sealed_bank_details'],
        ['bank_details_ciphertext = $2', 'sealed', 'contacts_sealed_bank_details'],
        ['email = $2', 'ana at example.com', 'contacts_email_check'],
        ['email = $2', `${'a'.repeat(250)}@x.cl`, 'contacts_email_check'],
      ] as const;
      for (const [assignment, value, constraint] of refusals) {
        const error = await expectErr(
          tryIn(driver, tenantScope(tenant.id), `UPDATE prestabot.contacts SET ${assignment} WHERE id = $1`, [
            contact.id,
            value,
          ]),
        );
        expect(error, assignment).toMatchObject({ reason: 'constraint' });
        expect(error.message, assignment).toContain(constraint);
      }
    });
  });

  describe('migrations', () => {
    it('apply nothing the second time, and leave nothing pending', async () => {
      const { storage, driver } = context();
      expect(await expectOk(storage.migrate())).toEqual({ applied: [] });
      const status = await expectOk(migrationStatus(driver));
      expect(status.pending).toEqual([]);
      expect(status.changed).toEqual([]);
      expect(status.applied).toEqual((await expectOk(loadMigrations())).map((migration) => migration.name));
    });

    it('refuse to go on when an applied migration was changed', async () => {
      const { driver } = context();
      const shipped = await expectOk(loadMigrations());
      const edited = shipped.map((migration, index) =>
        index === 1 ? { ...migration, checksum: `${migration.checksum.slice(0, -1)}0` } : migration,
      );
      const error = await expectErr(migrate(driver, edited));
      expect(error.message).toContain(`${shipped[1]!.name} changed after it was applied`);
      expect((await expectOk(migrationStatus(driver, edited))).changed).toEqual([shipped[1]!.name]);
    });

    it('report the database as healthy: migrated, isolated, a weak app role, definer owner bypassing RLS', async () => {
      const { storage } = context();
      const { number } = await seedTenant(storage);
      const health = await expectOk(storage.inspect());
      if (!health.reachable) throw new Error('the database was not reachable');
      expect(health.migrations.pending).toEqual([]);
      expect(health.tables.filter((table) => table.tenantOwned).map((table) => table.table)).toEqual(
        expectedTenantTables,
      );
      for (const table of health.tables)
        expect(table, table.table).toMatchObject({ rowSecurityEnabled: true });
      expect(health.applicationRole).toMatchObject({
        exists: true,
        superuser: false,
        bypassesRowSecurity: false,
        // The runtime login (0015): DATABASE_URL may log in as the role itself.
        canLogin: true,
        ownedObjects: 0,
        memberOf: [],
      });
      expect(health.definerOwnerBypassesRowSecurity).toBe(true);
      expect(health.numbers).toContainEqual(
        expect.objectContaining({
          phoneNumberId: number.phoneNumberId,
          tokenStatus: { kind: 'set', length: 180 },
        }),
      );
    });
  });
});

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

describe.skipIf(serverUrl === undefined)(
  `rebuilding the message log on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('keeps every logged message, column for column (0043)', async () => {
      const database = await createTestDatabase(serverUrl!);
      const driver = await expectOk(openSqlDriver({ databaseUrl: database.url }));
      const storage = await expectOk(createPostgresStorage({ databaseUrl: database.url, poolSize: 1 }));
      try {
        const shipped = await expectOk(loadMigrations());
        const rebuild = shipped.findIndex((migration) => migration.name.startsWith('0043_'));
        await expectOk(migrate(driver, shipped.slice(0, rebuild)));
        const { tenant, number } = await seedTenant(storage);
        const contact = await seedContact(storage, tenant.id);
        await expectOk(
          driver.query(
            `INSERT INTO prestabot.messages (tenant_id, direction, wamid, phone_number_id, contact_id, type, sent_at,
               accepted_at, status, status_at, error_code, error_title, outbox_id, origin, created_at, priced_at,
               billable, pricing_model, pricing_type, category)
             VALUES ($1, 'inbound', 'wamid.in', $2, $3, 'text', '2026-03-01T10:00:00Z', NULL, NULL, NULL, NULL,
                     NULL, NULL, NULL, '2026-03-01T10:00:01Z', NULL, NULL, NULL, NULL, NULL),
                    ($1, 'outbound', 'wamid.priced', $2, $3, 'interactive', NULL, '2026-03-01T10:00:02Z', 'read',
                     '2026-03-01T10:05:00Z', NULL, NULL, $4, '{"kind":"reply","inboxId":"e1"}',
                     '2026-03-01T10:00:02Z', '2026-03-01T10:00:03Z', true, 'PMP', 'regular', 'utility'),
                    ($1, 'outbound', 'wamid.failed', $2, NULL, 'template', NULL, '2026-03-01T11:00:00Z', 'failed',
                     '2026-03-01T11:00:05Z', 131026, 'Message undeliverable', $5, '{"kind":"notification"}',
                     '2026-03-01T11:00:00Z', NULL, NULL, NULL, NULL, NULL)`,
            [tenant.id, number.phoneNumberId, contact.id, fixtureUuid(), fixtureUuid()],
          ),
        );
        const logged = () =>
          expectOk(driver.query('SELECT to_jsonb(m) AS row FROM prestabot.messages m ORDER BY m.wamid'));
        const before = await logged();
        expect(before).toHaveLength(3);

        await expectOk(migrate(driver));
        expect(await logged()).toEqual(before);
        // Still the tenant's own: its unit of work reads the send back, no other tenant's does.
        const { tenant: other } = await seedTenant(storage);
        const read = (tenantId: TenantId) =>
          expectOk(storage.unitOfWork.run(tenantId, (r) => r.messages.outbound('wamid.priced' as Wamid)));
        expect(await read(tenant.id)).toMatchObject({ current: 'read', contactId: contact.id });
        expect(await read(other.id)).toBeUndefined();
      } finally {
        await storage.close();
        await driver.close();
        await database.drop();
      }
    });
  },
);

describe.skipIf(serverUrl === undefined)(
  `two processes migrating one fresh database at once on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('apply every migration exactly once between them', async () => {
      const database = await createTestDatabase(serverUrl!);
      const drivers = await Promise.all(
        [1, 2].map(() => expectOk(openSqlDriver({ databaseUrl: database.url }))),
      );
      try {
        const reports = await Promise.all(drivers.map((driver) => expectOk(migrate(driver))));
        const applied = reports.flatMap((report) => report.applied).sort();
        expect(applied).toEqual((await expectOk(loadMigrations())).map((migration) => migration.name));
      } finally {
        await Promise.all(drivers.map((driver) => driver.close()));
        await database.drop();
      }
    });
  },
);
