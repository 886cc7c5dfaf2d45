import type { PhoneNumberId, TenantId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  createInMemoryApp,
  expectErr,
  expectOk,
  JsonBatchParser,
  TestSignatureVerifier,
} from '../testing/index.ts';

const setup = (fallbackAccessToken?: string) =>
  createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    ...defined({ fallbackAccessToken }),
  });

const hello = { type: 'text' as const, body: 'hola', previewUrl: false };
const recipient = { phone: '+56911111111' as never };

describe('SendReply', () => {
  it("sends with the number's own token", async () => {
    const app = setup('EAAGlobalFallbackTokenValue0123456789');
    const tenantId = await app.addTenant('1001', 'own-token-of-1001');
    await expectOk(
      app.sendReply.execute({ tenantId, phoneNumberId: '1001' as PhoneNumberId, recipient, message: hello }),
    );
    expect(app.gateway.accepted).toMatchObject([{ accessToken: 'own-token-of-1001' }]);
    expect(app.logger.lines.filter((line) => line.fields.tokenSource !== undefined)).toEqual([]);
  });

  it('falls back to the deployment token only where the number has none, and logs that it did', async () => {
    const fallback = 'EAAGlobalFallbackTokenValue0123456789';
    const app = setup(fallback);
    const tenantId = await app.addTenant('1001', '');
    app.gateway.allow('1001' as PhoneNumberId, fallback);
    await expectOk(
      app.sendReply.execute({ tenantId, phoneNumberId: '1001' as PhoneNumberId, recipient, message: hello }),
    );
    expect(app.gateway.accepted[0]?.accessToken).toBe(fallback);
    const [line] = app.logger.lines.filter(
      (candidate) => candidate.fields.tokenSource === 'deployment_fallback',
    );
    expect(line?.fields).toMatchObject({ tenantId, phoneNumberId: '1001', token: 'EAAG…(37 chars)' });
    expect(JSON.stringify(app.logger.lines)).not.toContain(fallback);
  });

  it('fails with no_access_token when neither the number nor the deployment has one', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', '');
    const error = await expectErr(
      app.sendReply.execute({ tenantId, phoneNumberId: '1001' as PhoneNumberId, recipient, message: hello }),
    );
    expect(error).toEqual({ type: 'no_access_token', phoneNumberId: '1001' });
    expect(app.gateway.attempts).toEqual([]);
  });

  it('never sends as a number of another tenant', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    const other = await app.addTenant('2002', 'token-b');
    const error = await expectErr(
      app.sendReply.execute({
        tenantId: other as TenantId,
        phoneNumberId: '1001' as PhoneNumberId,
        recipient,
        message: hello,
      }),
    );
    expect(error).toEqual({ type: 'number_not_found', phoneNumberId: '1001' });
    expect(app.gateway.attempts).toEqual([]);
  });
});
