import { createHmac } from 'node:crypto';
import type { WebhookSecret } from '@prestabot/application';
import { parseAppId } from '@prestabot/domain';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HmacSignatureVerifier, signWebhookBody } from './signature.ts';

const appSecret = '8f2c1d4e5a6b7c8d9e0f1a2b3c4d5e6f';
const secret: WebhookSecret = { secret: appSecret };
const encode = (text: string) => new TextEncoder().encode(text);

/** A body with non-ASCII unescaped, as a proxy that re-encodes may pass Meta's on. */
const rawBody = encode(
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",' +
    '"value":{"text":{"body":"https:\\/\\/example.com \u00e4\u00f6\u00e5 \ud83d\udc4d"}}}]}]}',
);

/** What Meta sends: non-ASCII escaped as lowercase `\\uXXXX`, so the body is ASCII. */
const asciiBody = encode(
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",' +
    '"value":{"text":{"body":"https:\\/\\/example.com \\u00e4\\u00f6\\u00e5 \\ud83d\\udc4d"}}}]}]}',
);

const nodeLikeHmac = (key: string, data: Uint8Array) => createHmac('sha256', key).update(data).digest();

const verify = (body: Uint8Array, header: string | undefined, secrets: readonly WebhookSecret[] = [secret]) =>
  new HmacSignatureVerifier().verify(body, header, secrets);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('HmacSignatureVerifier', () => {
  it('accepts the signature of the exact bytes of an ASCII body, `\\/` and `\\uXXXX` included', async () => {
    const header = await signWebhookBody(asciiBody, appSecret);

    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect((await verify(asciiBody, header))._unsafeUnwrap()).toBe(secret);
  });

  it('signs and accepts a body that carries non-ASCII unescaped, in its escaped form as Meta does', async () => {
    const header = await signWebhookBody(rawBody, appSecret);

    expect(header).toBe(await signWebhookBody(asciiBody, appSecret));
    expect((await verify(rawBody, header))._unsafeUnwrap()).toBe(secret);
  });

  it('accepts upper-case hex', async () => {
    const header = await signWebhookBody(rawBody, appSecret);

    expect((await verify(rawBody, `sha256=${header.slice(7).toUpperCase()}`)).isOk()).toBe(true);
  });

  it.each([[undefined], ['']])('reports a missing signature (%j)', async (header) => {
    expect((await verify(rawBody, header))._unsafeUnwrapErr()).toEqual({ type: 'signature_missing' });
  });

  it.each([
    ['no algorithm', 'a'.repeat(64)],
    ['another algorithm', `sha1=${'a'.repeat(40)}`],
    ['an upper-case prefix', `SHA256=${'a'.repeat(64)}`],
    ['a short digest', `sha256=${'a'.repeat(63)}`],
    ['a long digest', `sha256=${'a'.repeat(65)}`],
    ['non-hex characters', `sha256=${'g'.repeat(64)}`],
    ['surrounding spaces', ` sha256=${'a'.repeat(64)} `],
  ])('reports a malformed signature: %s', async (_case, header) => {
    expect((await verify(rawBody, header))._unsafeUnwrapErr()).toEqual({ type: 'signature_malformed' });
  });

  it('reports a signature made with another secret', async () => {
    const header = await signWebhookBody(rawBody, 'another-app-secret');

    expect((await verify(rawBody, header))._unsafeUnwrapErr()).toEqual({ type: 'signature_mismatch' });
  });

  it('reports a mismatch when there is no secret to try', async () => {
    const header = await signWebhookBody(rawBody, appSecret);

    expect((await verify(rawBody, header, []))._unsafeUnwrapErr()).toEqual({ type: 'signature_mismatch' });
  });

  it('returns the secret that signed, the second of three', async () => {
    const appId = parseAppId('6f1c2b1e-8a3d-4c55-9d1e-2b7f0a4c9e11')._unsafeUnwrap();
    const secrets: WebhookSecret[] = [
      { secret: 'first-secret' },
      { appId, secret: appSecret },
      { secret: 'third' },
    ];
    const header = await signWebhookBody(rawBody, appSecret);

    expect((await verify(rawBody, header, secrets))._unsafeUnwrap()).toBe(secrets[1]);
  });

  it('skips an empty secret instead of failing on it', async () => {
    const header = await signWebhookBody(rawBody, appSecret);

    expect((await verify(rawBody, header, [{ secret: '' }, secret]))._unsafeUnwrap()).toBe(secret);
  });

  it('rejects a body re-serialised with JSON.stringify, whose bytes differ', async () => {
    const header = await signWebhookBody(rawBody, appSecret);
    const reserialised = encode(JSON.stringify(JSON.parse(new TextDecoder().decode(rawBody))));

    expect(reserialised).not.toEqual(rawBody);
    expect((await verify(reserialised, header))._unsafeUnwrapErr()).toEqual({ type: 'signature_mismatch' });
  });

  it('refuses a malformed header without computing any HMAC', async () => {
    const hmac = vi.fn(nodeLikeHmac);
    const verifier = new HmacSignatureVerifier({ hmac });

    expect(verifier.checkHeader('sha256=not-hex')._unsafeUnwrapErr()).toEqual({
      type: 'signature_malformed',
    });
    expect((await verifier.verify(rawBody, 'sha256=not-hex', [secret]))._unsafeUnwrapErr()).toEqual({
      type: 'signature_malformed',
    });
    expect(hmac).not.toHaveBeenCalled();
  });

  it('spends one HMAC per secret on a wrong signature, a non-ASCII body included', async () => {
    const hmac = vi.fn(nodeLikeHmac);
    const verifier = new HmacSignatureVerifier({ hmac });
    const secrets = [{ secret: 'first' }, { secret: 'second' }, { secret: 'third' }];
    const body = encode(`{"text":"${'ä'.repeat(1000)}"}`);

    const result = await verifier.verify(body, `sha256=${'0'.repeat(64)}`, secrets);

    expect(result._unsafeUnwrapErr()).toEqual({ type: 'signature_mismatch' });
    expect(hmac).toHaveBeenCalledTimes(secrets.length);
  });

  it('accepts a signature over the body with non-ASCII escaped as lowercase \\uXXXX', async () => {
    const received = encode('{"text":"äöå 👍"}');
    const header = await signWebhookBody(
      encode('{"text":"\\u00e4\\u00f6\\u00e5 \\ud83d\\udc4d"}'),
      appSecret,
    );

    expect((await verify(received, header))._unsafeUnwrap()).toBe(secret);
  });

  it('does not accept a signature over an upper-case escaped body', async () => {
    const header = await signWebhookBody(encode('{"text":"\\u00E4"}'), appSecret);

    expect((await verify(encode('{"text":"ä"}'), header)).isErr()).toBe(true);
  });

  it('reads a body held in a SharedArrayBuffer', async () => {
    const shared = new Uint8Array(new SharedArrayBuffer(rawBody.byteLength));
    shared.set(rawBody);
    const header = await signWebhookBody(rawBody, appSecret);

    expect((await verify(shared, header)).isOk()).toBe(true);
  });

  it('imports the key of a secret once, however many requests it verifies', async () => {
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    const verifier = new HmacSignatureVerifier();
    const header = await signWebhookBody(rawBody, appSecret);
    importKey.mockClear();

    for (let request = 0; request < 3; request++) {
      expect((await verifier.verify(rawBody, header, [secret])).isOk()).toBe(true);
    }

    expect(importKey).toHaveBeenCalledTimes(1);
  });
});
