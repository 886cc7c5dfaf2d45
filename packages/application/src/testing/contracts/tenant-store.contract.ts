import type { BusinessPortfolioId, ResultAsync, WabaId } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageError } from '../../errors.ts';
import type { TenantRepositories } from '../../ports/unit-of-work.port.ts';
import {
  expectErr,
  expectOk,
  fixtureNumber,
  fixtureTenant,
  flagTokenInvalid,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
} from './storage-harness.ts';

/** TenantStore and NumberStore: tenants, their numbers, and the numbers' tokens. */
export const describeTenantAndNumberStoreContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: TenantStore and NumberStore`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it('creates a tenant and reads it back in its scope only', async () => {
      const { tenant } = await seedTenant(harness);
      const other = fixtureTenant();
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.tenant.current()))).toEqual(tenant);
      expect(await expectOk(harness.unitOfWork.run(other.id, (r) => r.tenant.current()))).toBeUndefined();
    });

    it('refuses to create a tenant twice', async () => {
      const { tenant } = await seedTenant(harness);
      const error = await expectErr(harness.unitOfWork.run(tenant.id, (r) => r.tenant.create(tenant)));
      expect(error).toMatchObject({ type: 'storage_error', reason: 'duplicate' });
    });

    it('updates settings', async () => {
      const { tenant } = await seedTenant(harness);
      const settings = { ...tenant.settings, reminderSendHour: 18, profileFlowId: '998877' };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.tenant.updateSettings(settings)));
      const stored = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.tenant.current()));
      expect(stored?.settings).toEqual(settings);
    });

    it('lists, gets and reports the token status of numbers, never the token', async () => {
      const { tenant, number } = await seedTenant(harness);
      const second = fixtureNumber({ token: { kind: 'empty' } });
      const third = fixtureNumber({ token: { kind: 'missing' } });
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.add(second).andThen(() => r.numbers.add(third))),
      );
      const numbers = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.numbers.list()));
      const statusOf = (id: string) =>
        numbers.find((candidate) => candidate.phoneNumberId === id)?.tokenStatus;
      expect(statusOf(number.phoneNumberId)).toEqual({ kind: 'set', length: 180 });
      expect(statusOf(second.phoneNumberId)).toEqual({ kind: 'empty' });
      expect(statusOf(third.phoneNumberId)).toEqual({ kind: 'missing' });
      const one = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.get(number.phoneNumberId)),
      );
      expect(one).toMatchObject({
        tenantId: tenant.id,
        phoneNumberId: number.phoneNumberId,
        wabaId: number.wabaId,
        ratePerSecond: 80,
      });
    });

    it('keeps phone_number_id unique across tenants', async () => {
      const { number } = await seedTenant(harness);
      const other = fixtureTenant();
      const error = await expectErr(
        harness.unitOfWork.run(other.id, (r) =>
          r.tenant
            .create(other)
            .andThen(() => r.numbers.add(fixtureNumber({ phoneNumberId: number.phoneNumberId }))),
        ),
      );
      expect(error).toMatchObject({ type: 'storage_error', reason: 'duplicate' });
    });

    it('flags a token invalid and clears the flag when the token is replaced', async () => {
      const { tenant, number } = await seedTenant(harness);
      const at = new Date('2026-03-02T10:00:00.000Z');
      await flagTokenInvalid(harness, tenant.id, number, at);
      const flagged = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.get(number.phoneNumberId)),
      );
      expect(flagged?.tokenStatus).toEqual({ kind: 'invalid', length: 180, lastErrorAt: at, errorCode: 190 });
      const replacement = {
        kind: 'sealed' as const,
        sealed: { keyId: 'k1', ciphertext: 'new-sealed' },
        length: 200,
      };
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) => r.numbers.replaceToken(number.phoneNumberId, replacement)),
        ),
      ).toBe(true);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.numbers.token(number.phoneNumberId))),
      ).toEqual(replacement);
      const rotated = await expectOk(
        harness.unitOfWork.run(tenant.id, (r) => r.numbers.get(number.phoneNumberId)),
      );
      expect(rotated?.tokenStatus).toEqual({ kind: 'set', length: 200 });
    });

    it("stores Meta's view, lets the rate follow the throughput unless pinned, and lists it", async () => {
      const syncedAt = new Date('2026-12-04T10:00:00.000Z');
      const view = {
        businessPortfolioId: '7700000000001' as BusinessPortfolioId,
        messagingLimit: 2000,
        qualityRating: 'YELLOW',
        throughputLevel: 'HIGH',
        nameStatus: 'APPROVED',
        verifiedName: 'Presta Uno',
      } as const;
      const free = await seedTenant(harness);
      const pinned = await seedTenant(harness, {}, { ratePerSecond: 20, ratePinned: true });
      const record = (seeded: typeof free, change: { ratePerSecond?: number }) =>
        expectOk(
          harness.unitOfWork.run(seeded.tenant.id, (r) =>
            r.numbers.recordMetaView(seeded.number.phoneNumberId, view, { ...change, syncedAt }),
          ),
        );
      const followed = await record(free, { ratePerSecond: 1000 });
      expect(followed).toMatchObject({ ratePerSecond: 1000, meta: { ...view, syncedAt } });
      expect(followed?.ratePinned).toBeUndefined();
      expect(await record(pinned, { ratePerSecond: 1000 })).toMatchObject({
        ratePerSecond: 20,
        ratePinned: true,
      });
      const unlimited = await expectOk(
        harness.unitOfWork.run(free.tenant.id, (r) =>
          r.numbers.recordMetaView(
            free.number.phoneNumberId,
            { messagingLimit: 'unlimited', qualityRating: 'GREEN', throughputLevel: 'NOT_APPLICABLE' },
            { syncedAt },
          ),
        ),
      );
      expect(unlimited?.meta).toEqual({
        messagingLimit: 'unlimited',
        qualityRating: 'GREEN',
        throughputLevel: 'NOT_APPLICABLE',
        syncedAt,
      });
      expect(unlimited?.ratePerSecond).toBe(1000);
      const listed = (await expectOk(harness.directory.listTenants())).flatMap(({ numbers }) => numbers);
      expect(listed.find((n) => n.phoneNumberId === pinned.number.phoneNumberId)?.meta).toEqual({
        ...view,
        syncedAt,
      });
      const other = await expectOk(
        harness.unitOfWork.run(free.tenant.id, (r) =>
          r.numbers.recordMetaView(pinned.number.phoneNumberId, view, { syncedAt }),
        ),
      );
      expect(other).toBeUndefined();
    });

    it("finds a WABA's numbers across tenants, and records what an account webhook reports", async () => {
      const waba = '4455667788' as WabaId;
      const a = await seedTenant(harness, {}, { wabaId: waba });
      const b = await seedTenant(harness, {}, { wabaId: waba });
      await seedTenant(harness);
      const found = await expectOk(harness.directory.findWabaNumbers(waba));
      expect(found.map((route) => [route.tenant.id, route.number.phoneNumberId])).toEqual([
        [a.tenant.id, a.number.phoneNumberId],
        [b.tenant.id, b.number.phoneNumberId],
      ]);
      const report = (change: { qualityFlagged?: boolean; messagingLimit?: number | 'unlimited' }) =>
        expectOk(
          harness.unitOfWork.run(a.tenant.id, (r) =>
            r.numbers.recordAccountEvent(a.number.phoneNumberId, change),
          ),
        );
      const number = () =>
        expectOk(harness.unitOfWork.run(a.tenant.id, (r) => r.numbers.get(a.number.phoneNumberId)));
      expect(await report({ qualityFlagged: true, messagingLimit: 2000 })).toBe(true);
      expect((await number())?.qualityFlagged).toBe(true);
      await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) =>
          r.numbers.recordMetaView(
            a.number.phoneNumberId,
            { messagingLimit: 250, qualityRating: 'YELLOW', throughputLevel: 'STANDARD' },
            { syncedAt: new Date('2026-12-04T10:00:00.000Z') },
          ),
        ),
      );
      expect((await number())?.meta?.messagingLimit).toBe(250);
      expect(await report({ messagingLimit: 10_000 })).toBe(true);
      expect(await number()).toMatchObject({ qualityFlagged: true, meta: { messagingLimit: 10_000 } });
      expect(await report({ qualityFlagged: false, messagingLimit: 'unlimited' })).toBe(true);
      const cleared = await number();
      expect(cleared?.qualityFlagged).toBeUndefined();
      expect(cleared?.meta?.messagingLimit).toBe('unlimited');
      const elsewhere = await expectOk(
        harness.unitOfWork.run(a.tenant.id, (r) =>
          r.numbers.recordAccountEvent(b.number.phoneNumberId, { qualityFlagged: true }),
        ),
      );
      expect(elsewhere).toBe(false);
    });

    it("never reads or changes another tenant's number", async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const asA = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
        harness.unitOfWork.run(a.tenant.id, work);
      expect(await expectOk(asA((r) => r.numbers.get(b.number.phoneNumberId)))).toBeUndefined();
      expect(await expectOk(asA((r) => r.numbers.token(b.number.phoneNumberId)))).toBeUndefined();
      expect(
        await expectOk(asA((r) => r.numbers.replaceToken(b.number.phoneNumberId, { kind: 'empty' }))),
      ).toBe(false);
      const untouched = await expectOk(
        harness.unitOfWork.run(b.tenant.id, (r) => r.numbers.get(b.number.phoneNumberId)),
      );
      expect(untouched?.tokenStatus).toEqual({ kind: 'set', length: 180 });
      expect((await expectOk(asA((r) => r.numbers.list()))).map((n) => n.phoneNumberId)).toEqual([
        a.number.phoneNumberId,
      ]);
    });
  });
};
