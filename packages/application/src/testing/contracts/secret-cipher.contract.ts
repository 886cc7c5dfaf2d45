import type { AppId, ContactId, PhoneNumberId, TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { type SecretCipher, type SecretPlace, secretPlaces } from '../../ports/secret-cipher.port.ts';
import { expectErr, expectOk } from './storage-harness.ts';

export type SecretCipherHarness = {
  /** A cipher with a key. */
  readonly cipher: () => SecretCipher;
  /** A cipher whose configuration has no key. */
  readonly withoutKey: () => SecretCipher;
  /** A cipher with a different key than `cipher()`. */
  readonly withOtherKey: () => SecretCipher;
  /** A cipher that seals with `withOtherKey()`'s key and still opens with `cipher()`'s (a rotation). */
  readonly rotated: () => SecretCipher;
};

const tenant = '0192f0c0-0000-7000-8000-000000000001' as TenantId;
const otherTenant = '0192f0c0-0000-7000-8000-000000000002' as TenantId;
const place = secretPlaces.accessToken(tenant, '1065403522429' as PhoneNumberId);

/** Every way a place can differ from `place`: another row, column, table or tenant, or none. */
export const otherPlaces: readonly SecretPlace[] = [
  secretPlaces.accessToken(tenant, '1065403522430' as PhoneNumberId),
  secretPlaces.accessToken(otherTenant, '1065403522429' as PhoneNumberId),
  { ...place, column: 'token2' },
  { ...place, table: 'contacts' },
  { table: place.table, column: place.column, rowId: place.rowId },
  secretPlaces.appSecret('1065403522429' as AppId),
  secretPlaces.bankDetails(tenant, '1065403522429' as ContactId),
];

export const describeSecretCipherContract = (implementation: string, harness: SecretCipherHarness): void => {
  describe(`${implementation}: SecretCipher`, () => {
    const secrets = ['EAAGm0PX4ZCpsBAKZC', '', 'ñandú 🦩 secret', 'x'.repeat(4096)];

    it.each(secrets.map((secret) => [secret]))('opens what it sealed (%#)', async (secret) => {
      const cipher = harness.cipher();
      const sealed = await expectOk(cipher.seal(secret, place));
      if (secret !== '') expect(sealed.ciphertext).not.toContain(secret);
      expect(await expectOk(cipher.open(sealed, place))).toBe(secret);
    });

    it('opens a secret only where it was sealed for: not in another row, column, table or tenant', async () => {
      const cipher = harness.cipher();
      const sealed = await expectOk(cipher.seal('EAAGm0PX4ZCpsBAKZC', place));
      for (const other of otherPlaces) {
        const error = await expectErr(cipher.open(sealed, other));
        expect(error.type, JSON.stringify(other)).toBe('secret_unreadable');
        expect(JSON.stringify(error)).not.toContain('EAAGm0PX4ZCpsBAKZC');
      }
    });

    it('seals the same secret differently each time', async () => {
      const cipher = harness.cipher();
      const first = await expectOk(cipher.seal('same', place));
      const second = await expectOk(cipher.seal('same', place));
      expect(first.ciphertext).not.toBe(second.ciphertext);
    });

    it('fails to seal without a key, saying how to make one', async () => {
      const error = await expectErr(harness.withoutKey().seal('token', place));
      expect(error.type).toBe('encryption_key_missing');
      expect(error.message).toMatch(/PRESTABOT_ENCRYPTION_KEY/);
    });

    it('cannot open what another key sealed, or what was altered', async () => {
      const sealed = await expectOk(harness.cipher().seal('token', place));
      expect((await expectErr(harness.withOtherKey().open(sealed, place))).type).toBe('secret_unreadable');
      const last = sealed.ciphertext.at(-2) === 'A' ? 'B' : 'A';
      const altered = {
        ...sealed,
        ciphertext: `${sealed.ciphertext.slice(0, -2)}${last}${sealed.ciphertext.slice(-1)}`,
      };
      expect((await expectErr(harness.cipher().open(altered, place))).type).toBe('secret_unreadable');
    });

    it('calls stale only what an older key sealed', async () => {
      const sealed = await expectOk(harness.cipher().seal('token', place));
      expect(harness.cipher().isStale(sealed)).toBe(false);
      expect(harness.rotated().isStale(sealed)).toBe(true);
      const resealed = await expectOk(harness.rotated().seal('token', place));
      expect(harness.rotated().isStale(resealed)).toBe(false);
    });
  });
};
