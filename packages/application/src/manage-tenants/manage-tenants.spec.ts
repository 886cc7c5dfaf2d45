import type { PhoneNumberId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { InMemoryDatabase } from '../testing/in-memory-database.ts';
import {
  createInMemoryApp,
  expectErr,
  expectOk,
  FakeSecretCipher,
  JsonBatchParser,
  SequentialIds,
  TestSignatureVerifier,
} from '../testing/index.ts';
import { ManageTenants } from './manage-tenants.ts';

const setup = () =>
  createInMemoryApp({ verifier: new TestSignatureVerifier(), parser: new JsonBatchParser() });
const valid = {
  name: 'Préstamos Ana',
  phoneNumberId: '1065403522429',
  accessToken: 'EAAGsecret-token-value-0001',
  wabaId: '102290129340398',
};

describe('ManageTenants', () => {
  it('creates a tenant with its first number, and lists it without the token', async () => {
    const app = setup();
    const { tenantId } = await expectOk(
      app.manageTenants.addTenant({ ...valid, timezone: 'America/Bogota', displayPhone: '+56912345678' }),
    );
    const rows = await expectOk(app.manageTenants.listTenants());
    expect(rows).toEqual([
      {
        tenantId,
        name: 'Préstamos Ana',
        timezone: 'America/Bogota',
        phoneNumberId: '1065403522429',
        displayPhoneNumber: '+56912345678',
        wabaId: '102290129340398',
        tokenStatus: 'SET (27 chars)',
        ratePerSecond: 80,
      },
    ]);
    const phoneNumberId = valid.phoneNumberId as PhoneNumberId;
    const stored = await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.numbers
          .get(phoneNumberId)
          .andThen((number) => r.numbers.token(phoneNumberId).map((token) => ({ number, token }))),
      ),
    );
    expect(stored).toMatchObject({ number: { phoneNumberId }, token: { kind: 'sealed' } });
    expect(JSON.stringify(stored)).not.toContain(valid.accessToken);
  });

  it.each([
    [{ name: '  ' }, '--name'],
    [{ timezone: 'Mars/Olympus' }, '--timezone'],
    [{ locale: 'fr' }, '--locale'],
    [{ phoneNumberId: '+56 9 1234' }, '--phone-number-id'],
    [{ wabaId: 'waba' }, '--waba-id'],
    [{ displayPhone: '12' }, '--display-phone'],
    [{ ratePerSecond: 5000 }, '--rate'],
    [{ appSecret: ' ' }, '--app-secret'],
  ])('names the bad value and the expected form (%o)', async (override, field) => {
    const error = await expectErr(setup().manageTenants.addTenant({ ...valid, ...override }));
    expect(error).toMatchObject({ type: 'invalid_input', field, expected: expect.any(String) });
  });

  it('refuses a phone_number_id that another tenant already has', async () => {
    const app = setup();
    await expectOk(app.manageTenants.addTenant(valid));
    const error = await expectErr(app.manageTenants.addTenant({ ...valid, name: 'Otro' }));
    expect(error).toEqual({ type: 'number_already_registered', phoneNumberId: valid.phoneNumberId });
    expect(await expectOk(app.manageTenants.listTenants())).toHaveLength(1);
  });

  it('adds a number to an existing tenant only', async () => {
    const app = setup();
    const { tenantId } = await expectOk(app.manageTenants.addTenant(valid));
    await expectOk(app.manageTenants.addNumber(tenantId, { ...valid, phoneNumberId: '2002' }));
    expect((await expectOk(app.manageTenants.listTenants())).map((row) => row.phoneNumberId)).toEqual([
      valid.phoneNumberId,
      '2002',
    ]);
    const unknown = await expectErr(
      app.manageTenants.addNumber('3f2504e0-4f89-41d3-9a0c-0305e82c3301', {
        ...valid,
        phoneNumberId: '3003',
      }),
    );
    expect(unknown).toMatchObject({ type: 'tenant_not_found' });
    expect(await expectErr(app.manageTenants.addNumber('not-a-uuid', valid))).toMatchObject({
      type: 'invalid_input',
      field: '--tenant',
    });
  });

  it('rotates a token: the next send uses the new one', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'old-token');
    await expectOk(app.manageTenants.rotateToken('1001', 'new-token-0123456789'));
    app.gateway.allow('1001' as never, 'new-token-0123456789');
    await expectOk(
      app.sendReply.execute({
        tenantId,
        phoneNumberId: '1001' as never,
        recipient: { phone: '+56911111111' as never },
        message: { type: 'text', body: 'hola', previewUrl: false },
      }),
    );
    expect(app.gateway.accepted[0]?.accessToken).toBe('new-token-0123456789');
    expect(await expectErr(app.manageTenants.rotateToken('9999', 'x'))).toMatchObject({
      type: 'tenant_not_found',
      phoneNumberId: '9999',
    });
  });

  it("changes a tenant's settings, keeping what it is not told, and goes back to the default Flow on an empty id", async () => {
    const app = setup();
    const { tenantId } = await expectOk(app.manageTenants.addTenant(valid));
    const settingsOf = async () =>
      (await expectOk(app.database.unitOfWork.run(tenantId, (r) => r.tenant.current())))?.settings;

    await expectOk(
      app.manageTenants.configureTenant(tenantId, { profileFlowId: '123456789', reminderSendHour: 18 }),
    );
    await expectOk(
      app.manageTenants.configureTenant(tenantId, { defaultCurrency: 'usd', defaultCallingCode: '+57' }),
    );
    expect(await settingsOf()).toEqual({
      profileFlowId: '123456789',
      reminderSendHour: 18,
      defaultCurrency: 'USD',
      defaultCallingCode: '57',
    });

    await expectOk(app.manageTenants.configureTenant(tenantId, { profileFlowId: '' }));
    expect(await settingsOf()).toEqual({
      reminderSendHour: 18,
      defaultCurrency: 'USD',
      defaultCallingCode: '57',
    });
  });

  it('refuses bad settings naming the option, and an unknown tenant', async () => {
    const app = setup();
    const { tenantId } = await expectOk(app.manageTenants.addTenant(valid));
    const refused = async (input: Parameters<typeof app.manageTenants.configureTenant>[1]) =>
      (await expectErr(app.manageTenants.configureTenant(tenantId, input))) as { field?: string };
    expect((await refused({ profileFlowId: 'flow-1' })).field).toBe('--profile-flow-id');
    expect((await refused({ reminderSendHour: 24 })).field).toBe('--reminder-hour');
    expect((await refused({ reminderSendHour: 8.5 })).field).toBe('--reminder-hour');
    expect((await refused({ defaultCurrency: 'XYZ' })).field).toBe('--currency');
    expect((await refused({ defaultCallingCode: '0' })).field).toBe('--calling-code');
    expect(
      await expectErr(
        app.manageTenants.configureTenant('00000000-0000-4000-8000-0000000000ff', { reminderSendHour: 8 }),
      ),
    ).toMatchObject({ type: 'tenant_not_found' });
    expect(await expectErr(app.manageTenants.configureTenant('nope', {}))).toMatchObject({
      field: '--tenant',
    });
  });

  it('records an empty token as EMPTY', async () => {
    const app = setup();
    await expectOk(app.manageTenants.addTenant({ ...valid, accessToken: '' }));
    expect((await expectOk(app.manageTenants.listTenants()))[0]?.tokenStatus).toBe('EMPTY');
  });

  it('cannot store a token without an encryption key, and says how to make one', async () => {
    const database = new InMemoryDatabase();
    const manage = new ManageTenants({
      ...database,
      cipher: new FakeSecretCipher(null),
      ids: new SequentialIds(),
    });
    const error = await expectErr(manage.addTenant(valid));
    expect(error).toMatchObject({
      type: 'encryption_key_missing',
      message: expect.stringContaining('PRESTABOT_ENCRYPTION_KEY'),
    });
    expect(await expectOk(database.directory.listTenants())).toEqual([]);
  });
});
