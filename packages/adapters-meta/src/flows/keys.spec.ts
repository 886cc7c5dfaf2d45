// Fixtures come from Node's OpenSSL, an implementation independent of the WebCrypto code under test.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  describeFlowKeyError,
  type FlowKeyError,
  generateFlowKey,
  importFlowPrivateKey,
  importFlowPublicKey,
} from './keys.ts';

type RsaPems = { readonly pkcs1: string; readonly pkcs8: string; readonly spki: string };

const rsaPems = (modulusLength: number): RsaPems => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return {
    pkcs1: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spki: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};

const expectKeyError = async (pem: string, expected: FlowKeyError) =>
  expect((await importFlowPrivateKey(pem))._unsafeUnwrapErr()).toEqual(expected);

const rsa2048 = rsaPems(2048);

describe('importFlowPrivateKey', () => {
  it('reads a PKCS#8 PEM and derives its public key exactly as OpenSSL does', async () => {
    const key = (await importFlowPrivateKey(rsa2048.pkcs8))._unsafeUnwrap();

    expect(key.publicKeyPem).toBe(rsa2048.spki);
    expect(key.decryptionKey).toMatchObject({
      type: 'private',
      extractable: false,
      usages: ['decrypt'],
      algorithm: { name: 'RSA-OAEP', hash: { name: 'SHA-256' }, modulusLength: 2048 },
    });
  });

  it('reads a PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) as the same key', async () => {
    const fromPkcs1 = (await importFlowPrivateKey(rsa2048.pkcs1))._unsafeUnwrap();
    const fromPkcs8 = (await importFlowPrivateKey(rsa2048.pkcs8))._unsafeUnwrap();

    expect(rsa2048.pkcs1).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(fromPkcs1.fingerprint).toBe(fromPkcs8.fingerprint);
    expect(fromPkcs1.publicKeyPem).toBe(rsa2048.spki);
  });

  it('accepts a key over 2048 bits', async () => {
    expect((await importFlowPrivateKey(rsaPems(3072).pkcs8)).isOk()).toBe(true);
  });

  it.each([
    ['Windows line ends', (pem: string) => pem.replaceAll('\n', '\r\n')],
    ['literal \\n from an environment variable', (pem: string) => pem.trim().replaceAll('\n', '\\n')],
    ['surrounding text and spaces', (pem: string) => `key for +56 9:\n  ${pem}  \n`],
    [
      'a certificate before it',
      (pem: string) => `${rsa2048.spki.replaceAll('PUBLIC KEY', 'CERTIFICATE')}${pem}`,
    ],
  ])('reads a PEM with %s', async (_case, reshape) => {
    const key = (await importFlowPrivateKey(reshape(rsa2048.pkcs1)))._unsafeUnwrap();

    expect(key.publicKeyPem).toBe(rsa2048.spki);
  });

  it('names the key by the first 16 hex digits of SHA-256 over its SPKI DER', async () => {
    const spkiDer = createPublicKey(rsa2048.spki).export({ type: 'spki', format: 'der' });
    const key = (await importFlowPrivateKey(rsa2048.pkcs8))._unsafeUnwrap();

    expect(key.fingerprint).toBe(createHash('sha256').update(spkiDer).digest('hex').slice(0, 16));
  });

  it.each([
    ['PKCS#8', { type: 'pkcs8' as const }],
    ['PKCS#1 (Proc-Type: 4,ENCRYPTED)', { type: 'pkcs1' as const }],
  ])('refuses a passphrase-protected %s key', async (_case, encoding) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey
      .export({ ...encoding, format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();

    await expectKeyError(pem, { type: 'encrypted_key' });
  });

  it.each([
    ['EC (PKCS#8)', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'pkcs8', 'EC'],
    ['EC (SEC1)', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'sec1', 'EC'],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey, 'pkcs8', 'Ed25519'],
    [
      'RSASSA-PSS',
      () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey,
      'pkcs8',
      'RSASSA-PSS',
    ],
  ] as const)('refuses an %s key as not RSA', async (_case, generate, type, algorithm) => {
    const pem = generate().export({ type, format: 'pem' }).toString();

    await expectKeyError(pem, { type: 'not_rsa', algorithm });
  });

  it.each([['PKCS#8', 'pkcs8'] as const, ['PKCS#1', 'pkcs1'] as const])(
    'refuses a 1024-bit %s key',
    async (_case, format) => {
      await expectKeyError(rsaPems(1024)[format], {
        type: 'key_too_small',
        modulusLength: 1024,
        minimum: 2048,
      });
    },
  );

  it('refuses a public key where the private one is needed', async () => {
    await expectKeyError(rsa2048.spki, {
      type: 'unexpected_pem',
      label: 'PUBLIC KEY',
      expected: 'PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)',
    });
  });

  it.each([
    ['empty text', ''],
    ['no PEM block', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
    ['a body that is not base64', '-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----'],
    ['an empty body', '-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----'],
    ['mismatched labels', rsa2048.pkcs8.replace('END PRIVATE KEY', 'END RSA PRIVATE KEY')],
  ])('reports %s as not PEM', async (_case, pem) => {
    await expectKeyError(pem, { type: 'not_pem' });
  });

  it.each([
    ['truncated PKCS#8', (pem: string) => truncatedPem(pem, 'PRIVATE KEY')],
    ['PKCS#8 bytes under a PKCS#1 label', (pem: string) => pem.replaceAll('PRIVATE KEY', 'RSA PRIVATE KEY')],
  ])('reports %s as an invalid key', async (_case, reshape) => {
    await expectKeyError(reshape(rsa2048.pkcs8), { type: 'invalid_key' });
  });
});

describe('importFlowPublicKey', () => {
  it('reads an SPKI PEM for RSA-OAEP encryption', async () => {
    expect((await importFlowPublicKey(rsa2048.spki))._unsafeUnwrap()).toMatchObject({
      type: 'public',
      usages: ['encrypt'],
      algorithm: { name: 'RSA-OAEP', hash: { name: 'SHA-256' } },
    });
  });

  it('refuses a private key, an EC key and a short key', async () => {
    const ecPublic = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();

    expect((await importFlowPublicKey(rsa2048.pkcs8))._unsafeUnwrapErr()).toEqual({
      type: 'unexpected_pem',
      label: 'PRIVATE KEY',
      expected: 'PUBLIC KEY',
    });
    expect((await importFlowPublicKey(ecPublic))._unsafeUnwrapErr()).toEqual({
      type: 'not_rsa',
      algorithm: 'EC',
    });
    expect((await importFlowPublicKey(rsaPems(1024).spki))._unsafeUnwrapErr()).toEqual({
      type: 'key_too_small',
      modulusLength: 1024,
      minimum: 2048,
    });
  });
});

describe('generateFlowKey', () => {
  it('makes a 2048-bit key whose PKCS#8 PEM OpenSSL reads, with the matching public key', async () => {
    const { privateKeyPem, key } = await generateFlowKey();
    const opened = createPrivateKey(privateKeyPem);

    expect(privateKeyPem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----\n$/,
    );
    expect(opened.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.publicKeyPem).toBe(createPublicKey(opened).export({ type: 'spki', format: 'pem' }));
    expect(key.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('makes a different key each time', async () => {
    const [first, second] = await Promise.all([generateFlowKey(), generateFlowKey()]);

    expect(first.key.fingerprint).not.toBe(second.key.fingerprint);
  });
});

describe('describeFlowKeyError', () => {
  it.each<[FlowKeyError, RegExp]>([
    [{ type: 'not_pem' }, /no PEM key found/],
    [{ type: 'encrypted_key' }, /passphrase.*openssl pkey/],
    [{ type: 'unexpected_pem', label: 'CERTIFICATE', expected: 'PUBLIC KEY' }, /"CERTIFICATE".*PUBLIC KEY/],
    [{ type: 'not_rsa', algorithm: 'EC' }, /EC, not RSA.*openssl genrsa/],
    [{ type: 'key_too_small', modulusLength: 1024, minimum: 2048 }, /1024 bits.*at least 2048/],
    [{ type: 'invalid_key' }, /not hold a readable RSA key/],
  ])('explains %j in one line', (error, expected) => {
    const message = describeFlowKeyError(error);

    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
  });
});

/** The same PEM with its DER cut short, still valid base64. */
const truncatedPem = (pem: string, label: string): string => {
  const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
  return `-----BEGIN ${label}-----\n${body.slice(0, 400)}\n-----END ${label}-----\n`;
};
