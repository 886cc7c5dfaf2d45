import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretPlaces } from '../../ports/secret-cipher.port.ts';
import {
  expectOk,
  fixtureUuid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedContact,
  seedTenant,
} from './storage-harness.ts';

const sealed = (ciphertext: string) => ({ keyId: 'k1', ciphertext });
const t0 = new Date('2026-03-02T12:00:00.000Z');

export const describeSealedSecretStoreContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: SealedSecretStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    /** A tenant with a sealed token, a sealed Flows key and a contact's sealed bank details. */
    const seedSecrets = async () => {
      const { tenant, number } = await seedTenant(
        harness,
        {},
        { token: { kind: 'sealed', sealed: sealed(`token-${fixtureUuid()}`), length: 20 } },
      );
      const contact = await seedContact(harness, tenant.id);
      const flowKey = {
        id: fixtureUuid(),
        phoneNumberId: number.phoneNumberId,
        fingerprint: '0123456789abcdef',
        privateKey: sealed(`key-${fixtureUuid()}`),
        createdAt: t0,
      };
      const bankDetails = sealed(`bank-${fixtureUuid()}`);
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.flowKeys
            .add(flowKey, t0)
            .andThen(() => r.profiles.save(contact.id, { email: 'ana@example.com', bankDetails })),
        ),
      );
      return { tenant, number, contact, flowKey, bankDetails };
    };

    it("lists every sealed secret of the tenant with its place, and none of another tenant's", async () => {
      const { tenant, number, contact, flowKey, bankDetails } = await seedSecrets();
      await seedSecrets();
      await seedTenant(harness, {}, { token: { kind: 'empty' } });
      const token = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.token(number.phoneNumberId)),
      );
      const listed = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.secrets.list()));
      const byPlace = (a: { place: object }, b: { place: object }) =>
        JSON.stringify(a.place).localeCompare(JSON.stringify(b.place));
      expect([...listed].sort(byPlace)).toEqual(
        [
          {
            place: secretPlaces.accessToken(tenant.id, number.phoneNumberId),
            sealed: token?.kind === 'sealed' ? token.sealed : undefined,
          },
          { place: secretPlaces.flowPrivateKey(tenant.id, flowKey.id), sealed: flowKey.privateKey },
          { place: secretPlaces.bankDetails(tenant.id, contact.id), sealed: bankDetails },
        ].sort(byPlace),
      );
    });

    it('replaces a secret only where it still holds what was read, and only in the scoped tenant', async () => {
      const { tenant, number, contact, flowKey, bankDetails } = await seedSecrets();
      const other = await seedSecrets();
      const listed = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.secrets.list()));
      for (const { place, sealed: from } of listed) {
        const to = sealed(`resealed-${place.table}`);
        // Another tenant's unit of work cannot reach it.
        expect(
          await expectOk(harness.unitOfWork.run(other.tenant.id, (r) => r.secrets.replace(place, from, to))),
        ).toBe(false);
        expect(
          await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.secrets.replace(place, from, to))),
        ).toBe(true);
        // What was read is gone now: a second replace of it changes nothing.
        expect(
          await expectOk(
            harness.unitOfWork.run(tenant.id, (r) => r.secrets.replace(place, from, sealed('x'))),
          ),
        ).toBe(false);
      }
      const token = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.token(number.phoneNumberId)),
      );
      expect(token).toEqual({ kind: 'sealed', sealed: sealed('resealed-whatsapp_numbers'), length: 20 });
      const keys = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.flowKeys.list()));
      expect(keys.find((key) => key.id === flowKey.id)?.privateKey).toEqual(sealed('resealed-flow_keys'));
      const profile = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.profiles.get(contact.id)));
      expect(profile?.bankDetails).toEqual(sealed('resealed-contacts'));
      expect(bankDetails).not.toEqual(profile?.bankDetails);
      const untouched = await expectOk(harness.unitOfWork.run(other.tenant.id, (r) => r.secrets.list()));
      expect(untouched.map((secret) => secret.sealed.ciphertext).join()).not.toContain('resealed');
    });
  });
};
