import { fc, test } from '@fast-check/vitest';
import type { SecretPlace } from '@prestabot/application';
import type { TenantId } from '@prestabot/domain';
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
const version = 'v2:';

const placeArbitrary: fc.Arbitrary<SecretPlace> = fc.record(
  {
    table: fc.constantFrom('whatsapp_numbers', 'meta_apps', 'flow_keys', 'contacts', 'whatsapp_numbers2'),
    column: fc.constantFrom('token', 'secret', 'private_key', 'bank_details', ''),
    tenantId: fc.uuid().map((id) => id as TenantId),
    rowId: fc.string({ maxLength: 40 }),
  },
  { requiredKeys: ['table', 'column', 'rowId'] },
);
const place: SecretPlace = { table: 'whatsapp_numbers', column: 'token', rowId: '1065403522429' };

test.prop([fc.string({ unit: 'grapheme', maxLength: 300 })], runs)(
  'opens whatever it sealed',
  async (secret) => {
    const sealed = (await cipher.seal(secret, place))._unsafeUnwrap();
    return (await cipher.open(sealed, place))._unsafeUnwrap() === secret;
  },
);

test.prop([fc.string({ maxLength: 100 }), placeArbitrary, placeArbitrary], runs)(
  'opens a secret sealed for one (table, column, tenant, row) for no other',
  async (secret, sealedFor, openedAt) => {
    const sealed = (await cipher.seal(secret, sealedFor))._unsafeUnwrap();
    const opened = await cipher.open(sealed, openedAt);
    const same =
      sealedFor.table === openedAt.table &&
      sealedFor.column === openedAt.column &&
      sealedFor.tenantId === openedAt.tenantId &&
      sealedFor.rowId === openedAt.rowId;
    return same
      ? opened.isOk() && opened.value === secret
      : opened.isErr() && opened.error.type === 'secret_unreadable';
  },
);

test.prop(
  [fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 })],
  runs,
)('refuses a sealed secret with any byte flipped', async (secret, position, flip) => {
  const sealed = (await cipher.seal(secret, place))._unsafeUnwrap();
  const bytes = bytesOf(sealed.ciphertext.slice(version.length));
  const index = position % bytes.length;
  bytes[index] = bytes[index]! ^ flip;
  const opened = await cipher.open({ ...sealed, ciphertext: `${version}${base64Of(bytes)}` }, place);
  return opened.isErr() && opened.error.type === 'secret_unreadable';
});
