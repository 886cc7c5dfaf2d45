import { secretPlaces } from '@prestabot/application';
import { describeSecretCipherContract } from '@prestabot/application/testing';
import type { PhoneNumberId, TenantId } from '@prestabot/domain';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AesGcmSecretCipher, createAesGcmSecretCipher } from './aes-gcm-secret-cipher.ts';

const randomKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

const place = secretPlaces.accessToken(crypto.randomUUID() as TenantId, '1065403522429' as PhoneNumberId);

const keyA = randomKey();
const keyB = randomKey();

const cipherOf = async (settings: Parameters<typeof createAesGcmSecretCipher>[0]) =>
  (await createAesGcmSecretCipher(settings))._unsafeUnwrap();

let withA: AesGcmSecretCipher;
let withB: AesGcmSecretCipher;
let withoutKey: AesGcmSecretCipher;
let rotated: AesGcmSecretCipher;
beforeAll(async () => {
  [withA, withB, withoutKey, rotated] = await Promise.all([
    cipherOf({ PRESTABOT_ENCRYPTION_KEY: keyA }),
    cipherOf({ PRESTABOT_ENCRYPTION_KEY: keyB }),
    cipherOf({}),
    cipherOf({ PRESTABOT_ENCRYPTION_KEY: keyB, PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: keyA }),
  ]);
});

describeSecretCipherContract('AES-256-GCM', {
  cipher: () => withA,
  withoutKey: () => withoutKey,
  withOtherKey: () => withB,
  rotated: () => rotated,
});

describe(createAesGcmSecretCipher, () => {
  it.each([
    ['not base64', 'not base64 at all!', 'it is not base64'],
    ['16 bytes', btoa('0123456789abcdef'), 'it decodes to 16 bytes'],
    ['33 bytes', btoa('x'.repeat(33)), 'it decodes to 33 bytes'],
  ])('refuses a key that is %s, naming the variable and the expected form', async (_case, key, detail) => {
    const error = (await createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: key }))._unsafeUnwrapErr();
    expect(error).toMatchObject({ type: 'invalid_encryption_key', variable: 'PRESTABOT_ENCRYPTION_KEY' });
    expect(error.message).toContain('base64 of exactly 32 random bytes');
    expect(error.message).toContain(detail);
    expect(error.message).toContain('openssl rand -base64 32');
    expect(error.message).not.toContain(key);
  });

  it('refuses a malformed previous key, naming its variable', async () => {
    const error = (
      await createAesGcmSecretCipher({
        PRESTABOT_ENCRYPTION_KEY: keyA,
        PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: `${keyB},short`,
      })
    )._unsafeUnwrapErr();
    expect(error.variable).toBe('PRESTABOT_PREVIOUS_ENCRYPTION_KEYS');
  });

  it('treats an empty variable as no key: sealing says how to make one', async () => {
    const cipher = await cipherOf({ PRESTABOT_ENCRYPTION_KEY: '  ' });
    const error = (await cipher.seal('token', place))._unsafeUnwrapErr();
    expect(error.type).toBe('encryption_key_missing');
    expect(error.message).toContain('openssl rand -base64 32');
    expect(error.message).toContain("require('crypto').randomBytes(32).toString('base64')");
  });

  it('cannot open an existing secret without a key', async () => {
    const sealed = (await withA.seal('token', place))._unsafeUnwrap();
    expect((await withoutKey.open(sealed, place))._unsafeUnwrapErr()).toMatchObject({
      type: 'secret_unreadable',
      keyId: sealed.keyId,
    });
  });

  it('names each key by a stable 8-hex-digit fingerprint', async () => {
    const again = await cipherOf({ PRESTABOT_ENCRYPTION_KEY: keyA });
    expect(withA.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(again.keyId).toBe(withA.keyId);
    expect(withB.keyId).not.toBe(withA.keyId);
    expect((await withA.seal('token', place))._unsafeUnwrap().keyId).toBe(withA.keyId);
  });

  it('rotates: the new key seals, a previous key still opens what it sealed but never seals', async () => {
    const sealedByA = (await withA.seal('old token', place))._unsafeUnwrap();
    const rotated = await cipherOf({
      PRESTABOT_ENCRYPTION_KEY: keyB,
      PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: keyA,
    });
    expect((await rotated.open(sealedByA, place))._unsafeUnwrap()).toBe('old token');
    const sealedNow = (await rotated.seal('new token', place))._unsafeUnwrap();
    expect(sealedNow.keyId).toBe(withB.keyId);
    expect((await withB.open(sealedNow, place))._unsafeUnwrap()).toBe('new token');
  });

  it('seals as v2:base64(iv ‖ ciphertext ‖ tag): 12 + length + 16 bytes', async () => {
    const sealed = (await withA.seal('abc', place))._unsafeUnwrap();
    expect(sealed.ciphertext).toMatch(/^v2:/);
    expect(atob(sealed.ciphertext.slice(3))).toHaveLength(12 + 3 + 16);
  });

  it('opens a secret sealed before secrets were bound to their place, wherever it is, and calls it stale', async () => {
    // As the cipher sealed until then: base64(iv ‖ ciphertext ‖ tag), no additional data, no version.
    const raw = Uint8Array.from(atob(keyA), (char) => char.charCodeAt(0));
    const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode('old token')),
    );
    const legacy = {
      keyId: withA.keyId ?? '',
      ciphertext: btoa(String.fromCharCode(...iv, ...sealed)),
    };
    expect((await withA.open(legacy, place))._unsafeUnwrap()).toBe('old token');
    expect(withA.isStale(legacy)).toBe(true);
    expect(withA.isStale((await withA.seal('token', place))._unsafeUnwrap())).toBe(false);
  });
});
