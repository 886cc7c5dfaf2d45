import { errAsync } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expectErr,
  expectOk,
  fixturePhone,
  fixtureTenant,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  textOutboxEntry,
} from './storage-harness.ts';

export const describeUnitOfWorkContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: TenantUnitOfWork`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('rolls every write back when the work returns an error', async () => {
      const tenant = fixtureTenant();
      const error = await expectErr(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.tenant.create(tenant).andThen(() => errAsync({ type: 'changed_my_mind' as const })),
        ),
      );
      expect(error).toEqual({ type: 'changed_my_mind' });
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.tenant.current()))).toBeUndefined();
    });

    it('rolls every write back and rethrows when the work throws (a bug)', async () => {
      const tenant = fixtureTenant();
      await expect(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.tenant.create(tenant).map(() => {
            throw new Error('bug');
          }),
        ),
      ).rejects.toThrow('bug');
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.tenant.current()))).toBeUndefined();
    });

    it("refuses writes that point into another tenant's rows", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const contactOfB = await expectOk(
        harness.unitOfWork.run(b.tenant.id, (r) =>
          r.contacts.upsert({ phone: fixturePhone() }, fixtureUuid() as never),
        ),
      );
      const intoB = await expectErr(
        harness.unitOfWork.run(a.tenant.id, (r) =>
          r.outbox.enqueue([textOutboxEntry(b.number.phoneNumberId)]),
        ),
      );
      expect(intoB).toMatchObject({ type: 'storage_error', reason: 'constraint' });
      const toContactOfB = await expectErr(
        harness.unitOfWork.run(a.tenant.id, (r) =>
          r.outbox.enqueue([textOutboxEntry(a.number.phoneNumberId, { contactId: contactOfB.contact.id })]),
        ),
      );
      expect(toContactOfB).toMatchObject({ type: 'storage_error', reason: 'constraint' });
    });

    it('runs units of work for different tenants side by side without mixing them', async () => {
      const tenants = await Promise.all(Array.from({ length: 6 }, () => seedTenant(harness)));
      const phones = tenants.map(() => fixturePhone());
      await Promise.all(
        tenants.map(({ tenant }, index) =>
          expectOk(
            harness.unitOfWork.run(tenant.id, (r) =>
              r.contacts.upsert({ phone: phones[index]!, name: tenant.name }, fixtureUuid() as never),
            ),
          ),
        ),
      );
      for (const [index, { tenant }] of tenants.entries()) {
        const found = await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.contacts.findByPhone(phones[index]!)),
        );
        expect(found?.name).toBe(tenant.name);
        const foreign = await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.contacts.findByPhone(phones[(index + 1) % phones.length]!),
          ),
        );
        expect(foreign).toBeUndefined();
      }
    });
  });
};
