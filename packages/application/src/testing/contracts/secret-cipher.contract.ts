import { describe, expect, it } from 'vitest';
import type { SecretCipher } from '../../ports/secret-cipher.port.ts';
import { expectErr, expectOk } from './storage-harness.ts';

export type SecretCipherHarness = {
  /** A cipher with a key. */
  readonly cipher: () => SecretCipher;
  /** A cipher whose configuration has no key. */
  readonly withoutKey: () => SecretCipher;
  /** A cipher with a different key than `cipher()`. */
  readonly withOtherKey: () => SecretCipher;
};

export const describeSecretCipherContract = (implementation: string, harness: SecretCipherHarness): void => {
  describe(`${implementation}: SecretCipher`, () => {
    const secrets = ['EAAGm0PX4ZCpsBAKZC', '', 'ñandú 🦩 secret', 'x'.repeat(4096)];

    it.each(secrets.map((secret) => [secret]))('opens what it sealed (%#)', async (secret) => {
      const cipher = harness.cipher();
      const sealed = await expectOk(cipher.seal(secret));
      if (secret !== '') expect(sealed.ciphertext).not.toContain(secret);
      expect(await expectOk(cipher.open(sealed))).toBe(secret);
    });

    it('seals the same secret differently each time', async () => {
      const cipher = harness.cipher();
      const first = await expectOk(cipher.seal('same'));
      const second = await expectOk(cipher.seal('same'));
      expect(first.ciphertext).not.toBe(second.ciphertext);
    });

    it('fails to seal without a key, saying how to make one', async () => {
      const error = await expectErr(harness.withoutKey().seal('token'));
      expect(error.type).toBe('encryption_key_missing');
      expect(error.message).toMatch(/PRESTABOT_ENCRYPTION_KEY/);
    });

    it('cannot open what another key sealed, or what was altered', async () => {
      const sealed = await expectOk(harness.cipher().seal('token'));
      expect((await expectErr(harness.withOtherKey().open(sealed))).type).toBe('secret_unreadable');
      const last = sealed.ciphertext.at(-2) === 'A' ? 'B' : 'A';
      const altered = {
        ...sealed,
        ciphertext: `${sealed.ciphertext.slice(0, -2)}${last}${sealed.ciphertext.slice(-1)}`,
      };
      expect((await expectErr(harness.cipher().open(altered))).type).toBe('secret_unreadable');
    });
  });
};
