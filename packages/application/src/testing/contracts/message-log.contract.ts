import type { Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expectOk,
  type StorageHarness,
  type StorageHarnessFactory,
  seedContact,
  seedTenant,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

export const describeMessageLogContract = (implementation: string, factory: StorageHarnessFactory): void => {
  describe(`${implementation}: MessageLog`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    it("knows the user's last message per number, by WhatsApp timestamp", async () => {
      const { tenant, number } = await seedTenant(harness);
      const contact = await seedContact(harness, tenant.id);
      const record = (wamid: string, sentAt: Date) =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.recordInbound({
              wamid: wamid as Wamid,
              phoneNumberId: number.phoneNumberId,
              contactId: contact.id,
              type: 'text',
              sentAt,
            }),
          ),
        );
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.lastInboundAt(number.phoneNumberId, contact.id),
          ),
        ),
      ).toBeUndefined();
      await record(`wamid.in.${contact.id}.2`, at(20));
      await record(`wamid.in.${contact.id}.1`, at(10));
      await record(`wamid.in.${contact.id}.2`, at(20));
      expect(
        await expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.lastInboundAt(number.phoneNumberId, contact.id),
          ),
        ),
      ).toEqual(at(20));
    });

    it('moves a message forward only, keeps failed for good, and keeps the error', async () => {
      const { tenant, number } = await seedTenant(harness);
      const contact = await seedContact(harness, tenant.id);
      const wamid = `wamid.out.${contact.id}` as Wamid;
      await expectOk(
        harness.unitOfWork.run(tenant.id, (r) =>
          r.messages.recordOutbound({
            wamid,
            phoneNumberId: number.phoneNumberId,
            contactId: contact.id,
            outboxId: 'ob-1',
            origin: { kind: 'reminder', reminderId: 'rem-1' },
            type: 'template',
            acceptedAt: t0,
          }),
        ),
      );
      const apply = (
        status: 'sent' | 'delivered' | 'read' | 'failed',
        errors: { code: number; title?: string }[] = [],
      ) =>
        expectOk(
          harness.unitOfWork.run(tenant.id, (r) =>
            r.messages.applyStatus({ wamid, status, at: at(1), errors }),
          ),
        );
      expect(await apply('read')).toEqual({
        previous: 'accepted',
        current: 'read',
        outboxId: 'ob-1',
        origin: { kind: 'reminder', reminderId: 'rem-1' },
        contactId: contact.id,
      });
      expect(await apply('delivered')).toMatchObject({ previous: 'read', current: 'read' });
      expect(await apply('failed', [{ code: 131047, title: 'Re-engagement message' }])).toMatchObject({
        previous: 'read',
        current: 'failed',
      });
      expect(await apply('read')).toMatchObject({ previous: 'failed', current: 'failed' });
    });

    it('knows nothing of a wamid it never recorded, or that another tenant recorded', async () => {
      const a = await seedTenant(harness);
      const b = await seedTenant(harness);
      const wamid = `wamid.out.b.${b.tenant.id}` as Wamid;
      await expectOk(
        harness.unitOfWork.run(b.tenant.id, (r) =>
          r.messages.recordOutbound({
            wamid,
            phoneNumberId: b.number.phoneNumberId,
            outboxId: 'ob-b',
            origin: { kind: 'notification' },
            type: 'text',
            acceptedAt: t0,
          }),
        ),
      );
      expect(
        await expectOk(
          harness.unitOfWork.run(a.tenant.id, (r) =>
            r.messages.applyStatus({ wamid, status: 'read', at: t0, errors: [] }),
          ),
        ),
      ).toBeUndefined();
      expect(
        await expectOk(
          harness.unitOfWork.run(b.tenant.id, (r) =>
            r.messages.applyStatus({ wamid, status: 'delivered', at: t0, errors: [] }),
          ),
        ),
      ).toMatchObject({ previous: 'accepted', current: 'delivered' });
    });
  });
};
