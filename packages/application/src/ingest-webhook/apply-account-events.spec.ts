import type { AccountEvent, WabaId, WebhookBatch } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { ManageTemplates } from '../loans/manage-templates.ts';
import {
  createInMemoryApp,
  expectOk,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from '../testing/index.ts';

const deploymentSecret = 'deployment-app-secret';
const waba = '102290129340398' as WabaId;

const setup = () =>
  createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: deploymentSecret,
  });

const deliver = (
  app: ReturnType<typeof setup>,
  accountEvents: readonly AccountEvent[],
  secret = deploymentSecret,
) =>
  app.ingestWebhook.execute({
    rawBody: new TextEncoder().encode(
      JSON.stringify({ items: [], accountEvents, ignored: [], rejected: [] } satisfies WebhookBatch),
    ),
    signature: testSignature(secret),
  });

const numbers = async (app: ReturnType<typeof setup>) =>
  (await expectOk(app.manageTenants.listTenants())).map((row) => ({
    phoneNumberId: row.phoneNumberId,
    qualityFlagged: row.qualityFlagged ?? false,
  }));

describe('account webhooks', () => {
  it('flags the number a quality update names and unflags it, leaving the WABA’s other numbers', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a', { displayPhone: '+15550783881' });
    await app.addTenant('1002', 'token-b', { displayPhone: '+15550783882' });
    const quality = (event: string): AccountEvent => ({
      kind: 'number_quality',
      wabaId: waba,
      displayPhoneNumber: '15550783881',
      event,
    });
    await expectOk(deliver(app, [quality('FLAGGED')]));
    expect(await numbers(app)).toEqual([
      { phoneNumberId: '1001', qualityFlagged: true },
      { phoneNumberId: '1002', qualityFlagged: false },
    ]);
    expect(app.logger.at('warn').map((line) => line.message)).toContain(
      'Meta reported FLAGGED for number 1001: its quality is flagged',
    );
    await expectOk(deliver(app, [quality('UNFLAGGED')]));
    expect((await numbers(app)).every((number) => !number.qualityFlagged)).toBe(true);
  });

  it('sets the limit a capability update reports on every number of the WABA, and logs an account update', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await app.addTenant('1002', 'token-b');
    await expectOk(
      deliver(app, [
        { kind: 'business_capability', wabaId: waba, messagingLimit: 2000 },
        { kind: 'account', wabaId: waba, event: 'VERIFIED_ACCOUNT' },
      ]),
    );
    // Unsynced numbers: the limit is stored, though `NumberStore` shows it only once synced.
    const limits = (await expectOk(app.database.directory.listTenants()))
      .flatMap((listed) => listed.numbers)
      .map((number) => app.database.reportedMessagingLimit(number.phoneNumberId));
    expect(limits).toEqual([2000, 2000]);
    expect(app.logger.at('info').map((line) => line.message)).toContain(
      `account_update VERIFIED_ACCOUNT for WABA ${waba}`,
    );
  });

  it('stops a template Meta paused or re-categorised in every tenant of the WABA, and uses it again once approved', async () => {
    const app = setup();
    const templates = new ManageTemplates(app.database.unitOfWork);
    const tenants = [await app.addTenant('1001', 'token-a'), await app.addTenant('1002', 'token-b')];
    for (const tenant of tenants)
      await expectOk(
        templates.add({
          tenant,
          purpose: 'loan_reminder',
          name: 'recordatorio_prestamo',
          language: 'es_CL',
        }),
      );
    const template = { wabaId: waba, name: 'recordatorio_prestamo', language: 'es_CL' };
    const stopped = async () =>
      (await Promise.all(tenants.map((tenant) => expectOk(templates.list(tenant))))).map(
        ([listed]) => listed?.stopped,
      );
    await expectOk(
      deliver(app, [{ kind: 'template_status', ...template, event: 'PAUSED', reason: 'LOW_QUALITY' }]),
    );
    expect(await stopped()).toEqual([
      { status: 'paused', reason: 'PAUSED: LOW_QUALITY' },
      { status: 'paused', reason: 'PAUSED: LOW_QUALITY' },
    ]);
    await expectOk(deliver(app, [{ kind: 'template_status', ...template, event: 'FLAGGED' }]));
    expect((await stopped())[0]?.status).toBe('paused');
    await expectOk(deliver(app, [{ kind: 'template_status', ...template, event: 'APPROVED' }]));
    expect(await stopped()).toEqual([undefined, undefined]);
    await expectOk(
      deliver(app, [
        { kind: 'template_category', ...template, previousCategory: 'UTILITY', newCategory: 'MARKETING' },
      ]),
    );
    expect((await stopped())[1]).toEqual({
      status: 'recategorised',
      reason: 're-categorised UTILITY → MARKETING',
    });
  });

  it('applies nothing signed by an app the numbers do not belong to', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a', { appSecret: 'tenant-app-secret', displayPhone: '+15550783881' });
    await expectOk(
      deliver(app, [
        { kind: 'number_quality', wabaId: waba, displayPhoneNumber: '15550783881', event: 'FLAGGED' },
      ]),
    );
    expect((await numbers(app))[0]?.qualityFlagged).toBe(false);
    await expectOk(
      deliver(
        app,
        [{ kind: 'number_quality', wabaId: waba, displayPhoneNumber: '15550783881', event: 'FLAGGED' }],
        'tenant-app-secret',
      ),
    );
    expect((await numbers(app))[0]?.qualityFlagged).toBe(true);
  });
});
