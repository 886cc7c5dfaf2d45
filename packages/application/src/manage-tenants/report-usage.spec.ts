import { describe, expect, it } from 'vitest';
import {
  createInMemoryApp,
  deliveryStatus,
  encodeBatch,
  expectErr,
  expectOk,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from '../testing/index.ts';

const secret = 'deployment-app-secret';
const utility = { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' } as const;
const service = {
  billable: false,
  pricingModel: 'PMP',
  type: 'free_customer_service',
  category: 'service',
} as const;

const setup = async () => {
  const app = createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
  });
  const tenantA = await app.addTenant('1001', 'token-a');
  const tenantB = await app.addTenant('2002', 'token-b');
  // The clock reads 2026-03-02: two priced messages in March for A, one in February, one in March for B.
  await expectOk(
    app.ingestWebhook.execute({
      rawBody: encodeBatch([
        { ...deliveryStatus('1001', 'wamid.a1', 'sent'), pricing: utility },
        { ...deliveryStatus('1001', 'wamid.a1', 'read'), pricing: utility },
        { ...deliveryStatus('1001', 'wamid.a2', 'delivered'), pricing: service },
        {
          ...deliveryStatus('1001', 'wamid.a0', 'sent', { at: new Date('2026-02-27T10:00:00Z') }),
          pricing: utility,
        },
        { ...deliveryStatus('2002', 'wamid.b1', 'sent'), pricing: utility },
      ]),
      signature: testSignature(secret),
    }),
  );
  return { app, tenantA, tenantB };
};

describe('ReportUsage', () => {
  it("counts this month's messages of one tenant by number, category and billable", async () => {
    const { app, tenantA } = await setup();
    expect(await expectOk(app.reportUsage.execute({ tenantId: tenantA }))).toEqual({
      month: '2026-03',
      rows: [
        { tenantId: tenantA, phoneNumberId: '1001', category: 'service', billable: false, messages: 1 },
        { tenantId: tenantA, phoneNumberId: '1001', category: 'utility', billable: true, messages: 1 },
      ],
    });
  });

  it('reports the month asked for, for every tenant when none is named', async () => {
    const { app, tenantA } = await setup();
    expect(await expectOk(app.reportUsage.execute({ month: '2026-02' }))).toEqual({
      month: '2026-02',
      rows: [{ tenantId: tenantA, phoneNumberId: '1001', category: 'utility', billable: true, messages: 1 }],
    });
    const march = await expectOk(app.reportUsage.execute({}));
    expect(march.rows.map((row) => row.phoneNumberId)).toEqual(
      expect.arrayContaining(['1001', '1001', '2002']),
    );
    expect(march.rows).toHaveLength(3);
  });

  it('refuses a malformed month or tenant id, and names an unknown tenant', async () => {
    const { app } = await setup();
    expect(await expectErr(app.reportUsage.execute({ month: '2026-13' }))).toMatchObject({
      type: 'invalid_input',
      field: '--month',
      value: '2026-13',
    });
    expect(await expectErr(app.reportUsage.execute({ tenantId: 'acme' }))).toMatchObject({
      type: 'invalid_input',
      field: '--tenant',
    });
    const unknown = '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5';
    expect(await expectErr(app.reportUsage.execute({ tenantId: unknown }))).toEqual({
      type: 'tenant_not_found',
      tenantId: unknown,
    });
  });
});
