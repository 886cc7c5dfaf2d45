import { type PhoneNumberId, parseE164 } from '@prestabot/domain';
import { afterAll, describe, expect, it } from 'vitest';
import { UndiciGraphGateway } from './gateway.ts';
import { GraphClient, parseGraphApiConfig } from './graph-client.ts';

// Against Meta's real Graph API, only when a test number is configured. Never in CI by default: it needs
// the internet, and it sends a real message.
const token = process.env.WHATSAPP_LIVE_TOKEN;
const phoneNumberId = process.env.WHATSAPP_LIVE_PHONE_NUMBER_ID;
const to = process.env.WHATSAPP_LIVE_TO;
const configured = token !== undefined && phoneNumberId !== undefined && to !== undefined;
const recipient =
  to === undefined ? undefined : { phone: parseE164(to.startsWith('+') ? to : `+${to}`)._unsafeUnwrap() };
const skipReason = configured
  ? ''
  : ' (skipped: set WHATSAPP_LIVE_TOKEN, WHATSAPP_LIVE_PHONE_NUMBER_ID and WHATSAPP_LIVE_TO to run it)';

describe(`live Graph API${skipReason}`, () => {
  const client = new GraphClient(
    parseGraphApiConfig({
      baseUrl: process.env.META_GRAPH_URL,
      version: process.env.META_GRAPH_VERSION,
    })._unsafeUnwrap(),
    { requestTimeoutMs: 20_000 },
  );
  const gateway = new UndiciGraphGateway(client);
  afterAll(() => gateway.close());

  it.skipIf(!configured)(
    "sends Meta's hello_world template (allowed outside the 24-hour window) and gets a wamid",
    async () => {
      const result = await gateway.send({
        phoneNumberId: phoneNumberId as PhoneNumberId,
        accessToken: token!,
        recipient: recipient!,
        message: { type: 'template', name: 'hello_world', language: 'en_US', components: [] },
        callbackData: 'prestabot-live-test',
      });
      expect(result._unsafeUnwrap().wamid).toMatch(/^wamid\./);
    },
  );

  it.skipIf(!configured)('reports a token Meta does not know as an invalid token (190)', async () => {
    const result = await gateway.send({
      phoneNumberId: phoneNumberId as PhoneNumberId,
      accessToken: 'EAAG-not-a-real-token',
      recipient: recipient!,
      message: { type: 'text', body: 'never sent', previewUrl: false },
    });
    expect(result._unsafeUnwrapErr()).toMatchObject({ type: 'send_token_invalid', code: 190 });
  });
});
