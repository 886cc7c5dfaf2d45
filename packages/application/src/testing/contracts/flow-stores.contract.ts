import type { ContactId, ResultAsync } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageError } from '../../errors.ts';
import type { TenantRepositories } from '../../ports/unit-of-work.port.ts';
import {
  expectErr,
  expectOk,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedContact,
  seedTenant,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const sealed = (ciphertext: string) => ({ keyId: 'k1', ciphertext });

export const describeFlowStoresContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: FlowKeyStore, FlowKeyDirectory and ContactProfileStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it("keeps a number's keys newest first, retiring the current one when a new one comes", async () => {
      const { tenant, number } = await seedTenant(harness);
      const first = {
        id: fixtureUuid(),
        phoneNumberId: number.phoneNumberId,
        fingerprint: 'aaaa000011112222',
        privateKey: sealed('one'),
        createdAt: at(0),
      };
      const shared = {
        id: fixtureUuid(),
        fingerprint: 'bbbb000011112222',
        privateKey: sealed('shared'),
        createdAt: at(5),
      };
      const second = {
        id: fixtureUuid(),
        phoneNumberId: number.phoneNumberId,
        fingerprint: 'cccc000011112222',
        privateKey: sealed('two'),
        createdAt: at(10),
      };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.flowKeys.add(first, at(0))));
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.flowKeys.add(shared, at(5))));
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.flowKeys.add(second, at(10))));
      const keys = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.flowKeys.list()));
      expect(keys).toEqual([second, shared, { ...first, retiredAt: at(10) }]);
      const all = await expectOk(harness.flowKeyDirectory.listAll());
      expect(all.filter((key) => key.tenantId === tenant.id).map((key) => key.id)).toEqual([
        second.id,
        shared.id,
        first.id,
      ]);
    });

    it('starts the grace period of the keys a registered key replaced, in its scope only, once', async () => {
      const { tenant, number } = await seedTenant(harness);
      const key = (fingerprint: string, seconds: number, phoneNumberId?: typeof number.phoneNumberId) => ({
        id: fixtureUuid(),
        ...defined({ phoneNumberId }),
        fingerprint,
        privateKey: sealed(fingerprint),
        createdAt: at(seconds),
      });
      const first = key('aaaa000011112222', 0, number.phoneNumberId);
      const second = key('cccc000011112222', 10, number.phoneNumberId);
      const third = key('dddd000011112222', 30, number.phoneNumberId);
      const tenantWide = key('bbbb000011112222', 5);
      const tenantWideNext = key('eeee000011112222', 6);
      const run = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
        expectOk(harness.unitOfWork.run(tenant.id, work));
      for (const added of [first, tenantWide, tenantWideNext, second])
        await run((r) => r.flowKeys.add(added, added.createdAt));
      await run((r) => r.flowKeys.startGrace(number.phoneNumberId, at(20)));
      await run((r) => r.flowKeys.add(third, third.createdAt));
      await run((r) => r.flowKeys.startGrace(number.phoneNumberId, at(40)));
      expect(await run((r) => r.flowKeys.list())).toEqual([
        third,
        { ...second, retiredAt: at(30), graceFrom: at(40) },
        tenantWideNext,
        { ...tenantWide, retiredAt: at(6) },
        { ...first, retiredAt: at(10), graceFrom: at(20) },
      ]);
      const listed = await expectOk(harness.flowKeyDirectory.listAll());
      expect(listed.find((listedKey) => listedKey.id === first.id)?.graceFrom).toEqual(at(20));
    });

    it("refuses a key for another tenant's number and never lists another tenant's keys", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const foreign = {
        id: fixtureUuid(),
        phoneNumberId: b.number.phoneNumberId,
        fingerprint: 'dddd000011112222',
        privateKey: sealed('x'),
        createdAt: t0,
      };
      expect(
        await expectErr(harness.unitOfWork.run(a.tenant.id, (r) => r.flowKeys.add(foreign, t0))),
      ).toMatchObject({ type: 'storage_error', reason: 'constraint' });
      await expectOk(harness.unitOfWork.run(b.tenant.id, (r) => r.flowKeys.add(foreign, t0)));
      expect(await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.flowKeys.list()))).toEqual([]);
    });

    it("saves a contact's profile, its name on the contact, and reads it back in its tenant only", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const contact = await seedContact(harness, a.tenant.id);
      const profile = { name: 'Ana María', email: 'ana@example.com', bankDetails: sealed('bank') };
      await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.profiles.save(contact.id, profile)));
      expect(await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.profiles.get(contact.id)))).toEqual(
        profile,
      );
      expect(
        (await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.contacts.get(contact.id))))?.name,
      ).toBe('Ana María');
      expect(
        await expectOk(harness.unitOfWork.run(b.tenant.id, (r) => r.profiles.get(contact.id))),
      ).toBeUndefined();
      expect(
        await expectErr(harness.unitOfWork.run(b.tenant.id, (r) => r.profiles.save(contact.id, profile))),
      ).toMatchObject({ reason: 'constraint' });
      await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) =>
          r.profiles.save(contact.id, { email: 'ana@other.example' }),
        ),
      );
      expect(await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.profiles.get(contact.id)))).toEqual({
        name: 'Ana María',
        email: 'ana@other.example',
      });
    });

    it('records a profile submit once per flow token, refusing a replay or an older token', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const ana = await seedContact(harness, a.tenant.id);
      const bea = await seedContact(harness, a.tenant.id);
      const submit = (tenantId: typeof a.tenant.id, contactId: ContactId, expiry: Date) =>
        harness.unitOfWork.run(tenantId, (r) => r.profiles.recordSubmit(contactId, expiry));
      expect(await expectOk(submit(a.tenant.id, ana.id, at(3600)))).toBe(true);
      expect(await expectOk(submit(a.tenant.id, ana.id, at(3600)))).toBe(false);
      expect(await expectOk(submit(a.tenant.id, ana.id, at(3000)))).toBe(false);
      // Another person's submit, or a newer token, is another submit.
      expect(await expectOk(submit(a.tenant.id, bea.id, at(3600)))).toBe(true);
      expect(await expectOk(submit(a.tenant.id, ana.id, at(7200)))).toBe(true);
      expect(await expectErr(submit(b.tenant.id, ana.id, at(9000)))).toMatchObject({ reason: 'constraint' });
      // A unit of work that fails records nothing.
      const failed = await harness.unitOfWork.run(a.tenant.id, (r) =>
        r.profiles
          .recordSubmit(bea.id, at(9000))
          .andThen(() => r.profiles.save(fixtureUuid() as ContactId, { email: 'x@example.com' })),
      );
      expect(failed.isErr()).toBe(true);
      expect(await expectOk(submit(a.tenant.id, bea.id, at(9000)))).toBe(true);
    });

    it('keeps the name a person chose in their profile over later WhatsApp profile names', async () => {
      const a = await seedTenant(harness);
      const chooser = await seedContact(harness, a.tenant.id);
      const other = await seedContact(harness, a.tenant.id);
      await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) => r.profiles.save(chooser.id, { name: 'Ana Rojas' })),
      );
      for (const contact of [chooser, other])
        await expectOk(
          harness.unitOfWork.run(a.tenant.id, (r) =>
            r.contacts.upsert({ phone: contact.phone!, name: 'ana 🌸' }, fixtureUuid() as ContactId),
          ),
        );
      const nameOf = async (id: ContactId) =>
        (await expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.contacts.get(id))))?.name;
      expect(await nameOf(chooser.id)).toBe('Ana Rojas');
      expect(await nameOf(other.id)).toBe('ana 🌸');
    });
  });
};
