import { createInMemoryApp, expectOk } from '@prestabot/application/testing';
import { describe, expect, it } from 'vitest';
import { ZodWebhookParser } from './parser.ts';
import { HmacSignatureVerifier, signWebhookBody } from './signature.ts';
import {
  contactOf,
  encodeJson,
  messagesChange,
  wabaEntry,
  webhookPayload,
  wireTextFrom,
} from './testing/payloads.ts';

const appSecret = 'meta-app-secret-for-tests';

describe('the whole inbound path in one process', () => {
  it('takes signed webhook bytes for two tenants in one delivery and answers each from its own number with its own token', async () => {
    const app = createInMemoryApp({
      verifier: new HmacSignatureVerifier(),
      parser: new ZodWebhookParser(),
      deploymentAppSecret: appSecret,
    });
    const tenantA = await app.addTenant('106540352242922', 'EAAG-token-of-tenant-a');
    const tenantB = await app.addTenant('113355779900112', 'EAAG-token-of-tenant-b');
    const payload = webhookPayload(
      wabaEntry(
        '102290129340398',
        messagesChange(
          { phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' },
          {
            contacts: [contactOf('56911111111', 'Ana')],
            messages: [wireTextFrom('56911111111', 'wamid.A1', 'Hola 👋 ¿qué tal? a/b')],
          },
        ),
      ),
      wabaEntry(
        '109876543210987',
        messagesChange(
          { phoneNumberId: '113355779900112', displayPhoneNumber: '15550001111' },
          {
            contacts: [contactOf('56922222222', 'Bea')],
            messages: [wireTextFrom('56922222222', 'wamid.B1', 'menú')],
          },
        ),
      ),
    );
    const rawBody = encodeJson(payload);
    const signature = await signWebhookBody(rawBody, appSecret);

    const ingested = await expectOk(app.ingestWebhook.execute({ rawBody, signature }));
    expect(ingested).toMatchObject({ stored: 2, duplicates: 0 });
    await app.drain();

    expect(
      app.gateway.accepted.map((send) => [
        send.phoneNumberId,
        send.accessToken,
        send.recipient,
        send.message.type,
      ]),
    ).toEqual([
      ['106540352242922', 'EAAG-token-of-tenant-a', { phone: '+56911111111' }, 'buttons'],
      ['113355779900112', 'EAAG-token-of-tenant-b', { phone: '+56922222222' }, 'buttons'],
    ]);
    const contacts = app.database
      .contacts()
      .map((contact) => [contact.tenantId, contact.phone, contact.name]);
    expect(contacts).toEqual([
      [tenantA, '+56911111111', 'Ana'],
      [tenantB, '+56922222222', 'Bea'],
    ]);
  });
});
