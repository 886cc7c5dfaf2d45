import type { AppId, MetaAppId } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expectOk,
  fixturePhoneNumberId,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
} from './storage-harness.ts';

/** TenantDirectory and AppRegistry: the narrow cross-tenant reads, and the deployment's Meta apps. */
export const describeTenantDirectoryContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: TenantDirectory and AppRegistry`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('routes a phone_number_id to its tenant and number', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const route = await expectOk(harness.directory.findNumber(b.number.phoneNumberId));
      expect(route?.tenant).toEqual(b.tenant);
      expect(route?.number).toMatchObject({ tenantId: b.tenant.id, phoneNumberId: b.number.phoneNumberId });
      expect((await expectOk(harness.directory.findNumber(a.number.phoneNumberId)))?.tenant.id).toBe(
        a.tenant.id,
      );
      expect(await expectOk(harness.directory.findNumber(fixturePhoneNumberId()))).toBeUndefined();
    });

    it('routes several numbers in one lookup, each to its own tenant, leaving out unknown ones', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const unknown = fixturePhoneNumberId();
      const routes = await expectOk(
        harness.directory.findNumbers([b.number.phoneNumberId, unknown, a.number.phoneNumberId]),
      );
      expect(
        routes.map((route) => [route.number.phoneNumberId, route.number.tenantId, route.tenant.id]),
      ).toEqual(
        expect.arrayContaining([
          [a.number.phoneNumberId, a.tenant.id, a.tenant.id],
          [b.number.phoneNumberId, b.tenant.id, b.tenant.id],
        ]),
      );
      expect(routes).toHaveLength(2);
      expect(routes.find((route) => route.tenant.id === b.tenant.id)).toEqual(
        await expectOk(harness.directory.findNumber(b.number.phoneNumberId)),
      );
      expect(await expectOk(harness.directory.findNumbers([]))).toEqual([]);
    });

    it('lists every tenant with its numbers', async () => {
      const a = await seedTenant(harness);
      const listing = await expectOk(harness.directory.listTenants());
      const entry = listing.find((row) => row.tenant.id === a.tenant.id);
      expect(entry?.numbers.map((number) => number.phoneNumberId)).toEqual([a.number.phoneNumberId]);
    });

    it('registers apps and replaces the secret of an app with the same Meta app id', async () => {
      const metaAppId = `${Date.now()}${Math.floor(Math.random() * 1000)}` as MetaAppId;
      const first = await expectOk(
        harness.apps.register({
          id: fixtureUuid() as AppId,
          metaAppId,
          secret: { keyId: 'k1', ciphertext: 'one' },
        }),
      );
      const second = await expectOk(
        harness.apps.register({
          id: fixtureUuid() as AppId,
          metaAppId,
          secret: { keyId: 'k1', ciphertext: 'two' },
        }),
      );
      expect(second).toBe(first);
      const apps = await expectOk(harness.directory.listApps());
      expect(apps.filter((app) => app.id === first)).toEqual([
        { id: first, metaAppId, secret: { keyId: 'k1', ciphertext: 'two' } },
      ]);
      const anonymous = await expectOk(
        harness.apps.register({ id: fixtureUuid() as AppId, secret: { keyId: 'k1', ciphertext: 'three' } }),
      );
      expect(anonymous).not.toBe(first);
    });

    it('routes a number to the app that signs its webhooks', async () => {
      const appId = await expectOk(
        harness.apps.register({ id: fixtureUuid() as AppId, secret: { keyId: 'k1', ciphertext: 'secret' } }),
      );
      const { number } = await seedTenant(harness, {}, { appId });
      expect((await expectOk(harness.directory.findNumber(number.phoneNumberId)))?.number.appId).toBe(appId);
    });
  });
};
