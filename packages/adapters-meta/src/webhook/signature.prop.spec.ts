import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { HmacSignatureVerifier, signWebhookBody } from './signature.ts';

const verifier = new HmacSignatureVerifier();
const runs = { numRuns: 1000 };

const body = fc.uint8Array({ maxLength: 2048 });
const nonEmptyBody = fc.uint8Array({ minLength: 1, maxLength: 2048 });
const secret = fc.string({ unit: 'grapheme', minLength: 1 });

const verify = (bytes: Uint8Array, header: string, secrets: readonly string[]) =>
  verifier.verify(
    bytes,
    header,
    secrets.map((value) => ({ secret: value })),
  );

/**
 * HMAC pads short keys with zero bytes, so `k` and `k\0` sign alike: a property of HMAC, not a forgery.
 */
const signsAlike = (left: string, right: string): boolean =>
  left.replace(/\0+$/, '') === right.replace(/\0+$/, '');

describe('HmacSignatureVerifier properties', () => {
  test.prop([body, secret], runs)('a correct signature verifies', async (bytes, key) => {
    const header = await signWebhookBody(bytes, key);

    expect((await verify(bytes, header, [key]))._unsafeUnwrap()).toEqual({ secret: key });
  });

  test.prop([body, secret, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 })], runs)(
    'a correct signature verifies with its hex digits in any letter case',
    async (bytes, key, upper) => {
      const digits = (await signWebhookBody(bytes, key)).slice('sha256='.length);
      const mixed = Array.from(digits, (digit, index) => (upper[index] ? digit.toUpperCase() : digit)).join(
        '',
      );

      expect((await verify(bytes, `sha256=${mixed}`, [key])).isOk()).toBe(true);
    },
  );

  test.prop([nonEmptyBody, secret, fc.nat(), fc.integer({ min: 0, max: 7 })], runs)(
    'a body with one flipped bit does not verify',
    async (bytes, key, position, bit) => {
      const header = await signWebhookBody(bytes, key);
      const tampered = Uint8Array.from(bytes);
      const index = position % tampered.length;
      tampered[index] = (tampered[index] ?? 0) ^ (1 << bit);

      expect((await verify(tampered, header, [key]))._unsafeUnwrapErr()).toEqual({
        type: 'signature_mismatch',
      });
    },
  );

  test.prop([body, secret, fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 15 })], runs)(
    'a signature with one changed hex digit does not verify',
    async (bytes, key, digit, delta) => {
      const header = await signWebhookBody(bytes, key);
      const position = 'sha256='.length + digit;
      const changed = ((Number.parseInt(header.charAt(position), 16) + delta) % 16).toString(16);
      const tampered = `${header.slice(0, position)}${changed}${header.slice(position + 1)}`;

      expect((await verify(bytes, tampered, [key]))._unsafeUnwrapErr()).toEqual({
        type: 'signature_mismatch',
      });
    },
  );

  test.prop([body, secret, fc.string({ unit: 'binary', maxLength: 80 })], runs)(
    'a header that is not `sha256=` and 64 hex digits is malformed, never a match',
    async (bytes, key, header) => {
      fc.pre(!/^sha256=[0-9a-fA-F]{64}$/.test(header) && header !== '');

      expect((await verify(bytes, header, [key]))._unsafeUnwrapErr()).toEqual({
        type: 'signature_malformed',
      });
    },
  );

  test.prop([body, secret, secret], runs)(
    'a signature made with another secret does not verify',
    async (bytes, key, other) => {
      fc.pre(!signsAlike(key, other));
      const header = await signWebhookBody(bytes, other);

      expect((await verify(bytes, header, [key]))._unsafeUnwrapErr()).toEqual({ type: 'signature_mismatch' });
    },
  );

  test.prop([body, fc.uniqueArray(secret, { minLength: 1, maxLength: 4 }), fc.nat()], runs)(
    'the secret that signed is the one returned, wherever it is in the list',
    async (bytes, keys, pick) => {
      const signer = keys[pick % keys.length] ?? '';
      fc.pre(keys.every((key) => key === signer || !signsAlike(key, signer)));
      const header = await signWebhookBody(bytes, signer);

      expect((await verify(bytes, header, keys))._unsafeUnwrap()).toEqual({ secret: signer });
    },
  );
});
