import { fc, test } from '@fast-check/vitest';
import { beforeAll } from 'vitest';
import { type AesGcmSecretCipher, createAesGcmSecretCipher } from './aes-gcm-secret-cipher.ts';

const runs = { numRuns: 500 };

let cipher: AesGcmSecretCipher;
beforeAll(async () => {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  cipher = (await createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: key }))._unsafeUnwrap();
});

const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
const base64Of = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

test.prop([fc.string({ unit: 'grapheme', maxLength: 300 })], runs)(
  'opens whatever it sealed',
  async (secret) => {
    const sealed = (await cipher.seal(secret))._unsafeUnwrap();
    return (await cipher.open(sealed))._unsafeUnwrap() === secret;
  },
);

test.prop(
  [fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 })],
  runs,
)('refuses a sealed secret with any byte flipped', async (secret, position, flip) => {
  const sealed = (await cipher.seal(secret))._unsafeUnwrap();
  const bytes = bytesOf(sealed.ciphertext);
  const index = position % bytes.length;
  bytes[index] = bytes[index]! ^ flip;
  const opened = await cipher.open({ ...sealed, ciphertext: base64Of(bytes) });
  return opened.isErr() && opened.error.type === 'secret_unreadable';
});
