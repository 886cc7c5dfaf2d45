import { expectOk, fixtureNumber, seedContact, seedTenant } from '@prestabot/application/testing';
import type { ContactId, PhoneNumberId, TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from './migrate.ts';
import { openSqlDriver, postgresStorageOn } from './storage.ts';
import { driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { createTestDatabase } from './testing/test-database.ts';

// Migration 0029 replaces the inbound rows of the message log with one window per (number, contact): a
// database that already holds inbound messages keeps every window open exactly as long as before.
const windowsMigration = '0029_customer_service_windows.sql';

const at = (minutes: number) => new Date(Date.UTC(2026, 2, 2, 12, minutes));

describe.each(driversUnderTest)('upgrading to customer service windows on $name', (driver) => {
  const skipped = driver.name === 'PostgreSQL' && driver.serverUrl === undefined;
  it.skipIf(skipped)(
    `keeps each pair's latest inbound message and drops the inbound rows${skipped ? ` (${postgresSkipReason})` : ''}`,
    async () => {
      const database =
        driver.serverUrl === undefined ? undefined : await createTestDatabase(driver.serverUrl);
      const sql = await expectOk(openSqlDriver(database === undefined ? {} : { databaseUrl: database.url }));
      try {
        const shipped = await expectOk(loadMigrations());
        const upgrade = shipped.findIndex((migration) => migration.name === windowsMigration);
        expect(upgrade).toBeGreaterThan(0);
        await expectOk(migrate(sql, shipped.slice(0, upgrade)));

        const storage = postgresStorageOn(sql);
        const { tenant, number } = await seedTenant(storage);
        const otherNumber = fixtureNumber();
        await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.numbers.add(otherNumber)));
        const ana = await seedContact(storage, tenant.id);
        const bea = await seedContact(storage, tenant.id);
        const other = await seedTenant(storage);
        const cai = await seedContact(storage, other.tenant.id);
        // As the message log wrote them before: one row per inbound message, in any order of arrival.
        const inbound = [
          [tenant.id, number, ana.id, at(5)],
          [tenant.id, number, ana.id, at(30)],
          [tenant.id, number, ana.id, at(10)],
          [tenant.id, otherNumber, ana.id, at(40)],
          [tenant.id, number, bea.id, at(1)],
          [other.tenant.id, other.number, cai.id, at(50)],
        ] as const;
        for (const [index, [tenantId, { phoneNumberId }, contactId, sentAt]] of inbound.entries())
          await expectOk(
            sql.query(
              `INSERT INTO prestabot.messages (tenant_id, direction, wamid, phone_number_id, contact_id, type, sent_at)
               VALUES ($1, 'inbound', $2, $3, $4, 'text', $5)`,
              [tenantId, `wamid.in.${index}`, phoneNumberId, contactId, sentAt],
            ),
          );

        await expectOk(migrate(sql, shipped));

        const windowOf = (tenantId: TenantId, phoneNumberId: PhoneNumberId, contactId: ContactId) =>
          expectOk(
            storage.unitOfWork.run(tenantId, (r) => r.messages.lastInboundAt(phoneNumberId, contactId)),
          );
        expect(
          await Promise.all([
            windowOf(tenant.id, number.phoneNumberId, ana.id),
            windowOf(tenant.id, otherNumber.phoneNumberId, ana.id),
            windowOf(tenant.id, number.phoneNumberId, bea.id),
            windowOf(tenant.id, otherNumber.phoneNumberId, bea.id),
            windowOf(other.tenant.id, other.number.phoneNumberId, cai.id),
          ]),
        ).toEqual([at(30), at(40), at(1), undefined, at(50)]);
        expect(
          await expectOk(
            sql.query(
              `SELECT count(*)::integer AS rows FROM prestabot.messages WHERE direction = 'inbound'`,
              [],
            ),
          ),
        ).toEqual([{ rows: 0 }]);
      } finally {
        await sql.close();
        await database?.drop();
      }
    },
    60_000,
  );
});
