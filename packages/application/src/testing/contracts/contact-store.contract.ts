import type { ContactId, E164 } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expectOk,
  fixturePhone,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
} from './storage-harness.ts';

export const describeContactStoreContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: ContactStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const upsert = (
      tenantId: Parameters<StorageHarness['unitOfWork']['run']>[0],
      identity: { phone?: E164; userId?: string; name?: string },
    ) =>
      expectOk(
        harness.unitOfWork.run(tenantId, (r) => r.contacts.upsert(identity, fixtureUuid() as ContactId)),
      );

    it('creates a contact the first time and finds it after', async () => {
      const { tenant } = await seedTenant(harness);
      const phone = fixturePhone();
      const first = await upsert(tenant.id, { phone, name: 'Ana' });
      expect(first.created).toBe(true);
      expect(first.contact).toMatchObject({ tenantId: tenant.id, phone, name: 'Ana', optedOut: false });
      const again = await upsert(tenant.id, { phone, name: 'Ana María' });
      expect(again).toEqual({ created: false, contact: { ...first.contact, name: 'Ana María' } });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.findByPhone(phone)))).toEqual(
        again.contact,
      );
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.get(first.contact.id))),
      ).toEqual(again.contact);
    });

    it('keys a person on their user id first and fills in the phone later', async () => {
      const { tenant } = await seedTenant(harness);
      const onlyUserId = await upsert(tenant.id, { userId: 'CL.123456789' });
      expect(onlyUserId.contact.phone).toBeUndefined();
      const phone = fixturePhone();
      const both = await upsert(tenant.id, { userId: 'CL.123456789', phone });
      expect(both).toMatchObject({
        created: false,
        contact: { id: onlyUserId.contact.id, phone, userId: 'CL.123456789' },
      });
    });

    it('records opt-out and opt-in', async () => {
      const { tenant } = await seedTenant(harness);
      const { contact } = await upsert(tenant.id, { phone: fixturePhone() });
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.setOptedOut(contact.id, true)));
      expect(
        (await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.get(contact.id))))?.optedOut,
      ).toBe(true);
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.setOptedOut(contact.id, false)));
      expect(
        (await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.contacts.get(contact.id))))?.optedOut,
      ).toBe(false);
    });

    it('makes the same person two unrelated contacts on two tenants', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const phone = fixturePhone();
      const inA = await upsert(a.tenant.id, { phone, name: 'Ana' });
      const inB = await upsert(b.tenant.id, { phone, name: 'Anita' });
      expect(inB.created).toBe(true);
      expect(inB.contact.id).not.toBe(inA.contact.id);
      expect(
        await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.contacts.get(inB.contact.id))),
      ).toBeUndefined();
      await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) => r.contacts.setOptedOut(inB.contact.id, true)),
      );
      expect(
        (await expectOk(harness.unitOfWork.run(b.tenant.id, (r) => r.contacts.get(inB.contact.id))))
          ?.optedOut,
      ).toBe(false);
      expect(
        (await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.contacts.findByPhone(phone))))?.name,
      ).toBe('Ana');
    });
  });
};
