import type { ResultAsync, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageError } from '../../errors.ts';
import type { RegisteredTemplate } from '../../loans/loan-stores.port.ts';
import type { Lease } from '../../ports/inbox.port.ts';
import type { TenantRepositories } from '../../ports/unit-of-work.port.ts';
import {
  expectOk,
  type StorageHarness,
  type StorageHarnessFactory,
  seedTenant,
  textOutboxEntry,
} from './storage-harness.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** Finding templates by purpose and language, their Meta status, and the outbox's template fallbacks. */
export const describeTemplateStoreContract = (
  implementation: string,
  factory: StorageHarnessFactory,
): void => {
  describe(`${implementation}: TemplateStore and outbox fallbacks`, () => {
    let harness: StorageHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const registered: RegisteredTemplate = {
      purpose: 'loan_reminder',
      name: 'loan_reminder_v2',
      language: 'es',
      parameters: [
        { variable: 'borrower_name', name: 'borrower' },
        { variable: 'loan', name: 'loan' },
      ],
      quickReplies: ['claim_returned'],
    };

    it('finds a template by purpose and language, falling back to the base language', async () => {
      const { tenant } = await seedTenant(harness);
      const other = await seedTenant(harness);
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.templates.upsert(registered)));
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.templates.find('loan_reminder', 'es_CL'))),
      ).toEqual(registered);
      expect(
        await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.templates.find('loan_update', 'es'))),
      ).toBeUndefined();
      expect(
        await expectOk(
          harness.unitOfWork.run(other.tenant.id, (r) => r.templates.find('loan_reminder', 'es')),
        ),
      ).toBeUndefined();
      const replaced = { ...registered, name: 'loan_reminder_v3' };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.templates.upsert(replaced)));
      expect(await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.templates.list()))).toEqual([
        replaced,
      ]);
    });

    it('skips a template Meta stopped, lists why, and uses it again once approved or registered again', async () => {
      const { tenant } = await seedTenant(harness);
      const other = await seedTenant(harness);
      const inTenant = <T>(work: (r: TenantRepositories) => ResultAsync<T, StorageError>) =>
        expectOk(harness.unitOfWork.run(tenant.id, work));
      const exact = { ...registered, name: 'loan_reminder_cl', language: 'es_CL' };
      await inTenant((r) => r.templates.upsert(registered).andThen(() => r.templates.upsert(exact)));
      await expectOk(harness.unitOfWork.run(other.tenant.id, (r) => r.templates.upsert(exact)));
      const paused = { status: 'paused', reason: 'PAUSED: low quality' } as const;
      expect(await inTenant((r) => r.templates.recordMetaStatus('loan_reminder_cl', 'es_CL', paused))).toBe(
        1,
      );
      // The base language's template stands in for the paused one.
      expect(await inTenant((r) => r.templates.find('loan_reminder', 'es_CL'))).toEqual(registered);
      // Both were registered in one transaction (one `created_at`): the list promises no order between them.
      const listed = await inTenant((r) => r.templates.list());
      expect(listed).toHaveLength(2);
      expect(listed).toEqual(expect.arrayContaining([registered, { ...exact, stopped: paused }]));
      expect(
        await expectOk(
          harness.unitOfWork.run(other.tenant.id, (r) => r.templates.find('loan_reminder', 'es_CL')),
        ),
      ).toEqual(exact);
      await inTenant((r) =>
        r.templates.recordMetaStatus('loan_reminder_v2', 'es', {
          status: 'recategorised',
          reason: 'UTILITY → MARKETING',
        }),
      );
      expect(await inTenant((r) => r.templates.find('loan_reminder', 'es_CL'))).toBeUndefined();
      expect(
        await inTenant((r) => r.templates.recordMetaStatus('loan_reminder_cl', 'es_CL', undefined)),
      ).toBe(1);
      expect(await inTenant((r) => r.templates.find('loan_reminder', 'es_CL'))).toEqual(exact);
      await inTenant((r) => r.templates.upsert(registered));
      expect(await inTenant((r) => r.templates.find('loan_reminder', 'es'))).toEqual(registered);
      expect(await inTenant((r) => r.templates.recordMetaStatus('no_such_template', 'es', paused))).toBe(0);
    });

    it('keeps a message’s template fallback, and switches to it under the lease', async () => {
      const { tenant, number } = await seedTenant(harness);
      const fallback = { type: 'template' as const, name: 'loan_update', language: 'es', components: [] };
      const entry = { ...textOutboxEntry(number.phoneNumberId, { at: t0 }), fallback };
      await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])));
      expect(
        (await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id))))?.fallback,
      ).toEqual(fallback);
      const [claimed] = (
        await expectOk(
          harness.outboxQueue.claim({
            owner: 'w',
            now: at(1000),
            limit: 100,
            leaseMs: 30_000,
            horizonMs: 1000,
          }),
        )
      ).filter((send) => send.id === entry.id);
      const switchToFallback = (lease: Lease, when: Date) =>
        expectOk(harness.outboxQueue.record([{ kind: 'fallback', id: entry.id, lease, at: when }])).then(
          ([held]) => held,
        );
      expect(await switchToFallback({ owner: 'x', until: at(5) }, at(1001))).toBe(false);
      expect(await switchToFallback(claimed!.lease, at(1001))).toBe(true);
      const switched = await expectOk(harness.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)));
      expect(switched).toMatchObject({ status: 'pending', message: fallback });
      expect(switched?.fallback).toBeUndefined();
      const [again] = (
        await expectOk(
          harness.outboxQueue.claim({
            owner: 'w',
            now: at(2000),
            limit: 100,
            leaseMs: 30_000,
            horizonMs: 1000,
          }),
        )
      ).filter((send) => send.id === entry.id);
      expect(again?.message).toEqual(fallback);
      expect(await switchToFallback(again!.lease, at(2001))).toBe(false);
      expect(
        await expectOk(
          harness.outboxQueue.record([
            {
              kind: 'sent',
              id: entry.id,
              lease: again!.lease,
              wamid: 'wamid.fallback' as Wamid,
              at: at(2002),
            },
          ]),
        ),
      ).toEqual([true]);
    });
  });
};
