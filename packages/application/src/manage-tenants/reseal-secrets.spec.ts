import type { ContactId, TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { secretPlaces } from '../ports/secret-cipher.port.ts';
import { InMemoryDatabase } from '../testing/in-memory-database.ts';
import { expectOk, FakeSecretCipher, SequentialIds, seedContact } from '../testing/index.ts';
import { ManageTenants } from './manage-tenants.ts';
import { ResealSecrets } from './reseal-secrets.ts';

const number = (phoneNumberId: string, accessToken: string) => ({
  phoneNumberId,
  accessToken,
  wabaId: '102290129340398',
});

/** Two tenants' tokens, an app secret and bank details, all sealed with key-1. */
const seed = async (database: InMemoryDatabase) => {
  const old = new FakeSecretCipher('key-1');
  const manage = new ManageTenants({ ...database.harness(), cipher: old, ids: new SequentialIds() });
  const { tenantId } = await expectOk(
    manage.addTenant({
      name: 'Ana',
      ...number('1065403522429', 'EAAG-a'),
      appSecret: 'app-secret',
      metaAppId: '77',
    }),
  );
  await expectOk(manage.addTenant({ name: 'Beto', ...number('1065403522430', 'EAAG-b') }));
  const contact = await seedContact(database.harness(), tenantId as TenantId);
  const place = secretPlaces.bankDetails(tenantId, contact.id as ContactId);
  const bankDetails = await expectOk(old.seal('{"accountNumber":"123"}', place));
  await expectOk(database.unitOfWork.run(tenantId, (r) => r.profiles.save(contact.id, { bankDetails })));
  return { tenantId };
};

const reseal = (database: InMemoryDatabase, cipher: FakeSecretCipher) =>
  new ResealSecrets({ ...database.harness(), cipher }).execute();

describe('ResealSecrets', () => {
  it('seals every secret again under the current key, so the old key can go', async () => {
    const database = new InMemoryDatabase();
    await seed(database);
    const rotated = new FakeSecretCipher('key-2', ['key-1']);
    expect(await expectOk(reseal(database, rotated))).toEqual({ resealed: 4, current: 0, unreadable: [] });
    // Only the new key now: every token, the app secret and the bank details still open.
    const newOnly = new FakeSecretCipher('key-2');
    for (const tenant of await expectOk(database.directory.listTenants())) {
      const secrets = await expectOk(database.unitOfWork.run(tenant.tenant.id, (r) => r.secrets.list()));
      for (const { place, sealed } of secrets) await expectOk(newOnly.open(sealed, place));
    }
    for (const app of await expectOk(database.directory.listApps()))
      expect(await expectOk(newOnly.open(app.secret, secretPlaces.appSecret(app.id)))).toBe('app-secret');
    expect(await expectOk(reseal(database, rotated))).toEqual({ resealed: 0, current: 4, unreadable: [] });
  });

  it('names what no configured key opens, never its value, and leaves it as it is', async () => {
    const database = new InMemoryDatabase();
    await seed(database);
    const report = await expectOk(reseal(database, new FakeSecretCipher('key-3')));
    expect(report.resealed).toBe(0);
    expect(report.unreadable).toHaveLength(4);
    expect(report.unreadable[0]).toMatchObject({ keyId: 'key-1', place: { table: 'whatsapp_numbers' } });
    expect(JSON.stringify(report)).not.toMatch(/EAAG-a|app-secret|accountNumber/);
  });
});
