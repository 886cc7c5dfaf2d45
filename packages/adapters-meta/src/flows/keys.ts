import { err, ok, type Result, ResultAsync } from '@prestabot/domain';
import { keyAlgorithmOf, pkcs1ToPkcs8, rsaEncryptionOid } from './der.ts';
import { bytesToHex } from './encoding.ts';
import { derOf, isEncryptedPem, type PemBlock, pemBlocksOf, pemOf } from './pem.ts';

/** A business private key for the Flows endpoint, ready to unwrap the AES keys WhatsApp sends. */
export type FlowPrivateKey = {
  /** Names the key in configuration and logs; the same for the private key and its public half. */
  readonly fingerprint: string;
  /** The public half as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`): what is uploaded to Meta. */
  readonly publicKeyPem: string;
  /** RSA-OAEP with SHA-256, decrypt only, not extractable. */
  readonly decryptionKey: CryptoKey;
};

export type GeneratedFlowKey = {
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), unencrypted: seal it before storing it. */
  readonly privateKeyPem: string;
  readonly key: FlowPrivateKey;
};

export type FlowKeyError =
  /** No `-----BEGIN …-----` block, or its body is not base64. */
  | { readonly type: 'not_pem' }
  /** Protected by a passphrase, which nothing here can be given. */
  | { readonly type: 'encrypted_key' }
  /** A PEM block of another kind: a certificate, a public key where the private one is needed. */
  | { readonly type: 'unexpected_pem'; readonly label: string; readonly expected: string }
  | { readonly type: 'not_rsa'; readonly algorithm: string }
  | { readonly type: 'key_too_small'; readonly modulusLength: number; readonly minimum: number }
  /** The block has the right label but its bytes are not such a key. */
  | { readonly type: 'invalid_key' };

/** Meta asks for a 2048-bit RSA key; a shorter one is refused rather than uploaded to fail later. */
const minimumModulusLength = 2048;
const rsaOaep = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
const fingerprintHexDigits = 16;

const privateKeyLabels = 'PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)';
const publicKeyLabel = 'PUBLIC KEY';

/** Names for the key algorithms people paste by mistake; any other OID is shown dotted. */
const algorithmNames: Readonly<Record<string, string>> = {
  '1.2.840.10045.2.1': 'EC',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
};

/**
 * Reads the business private key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) or PKCS#1
 * (`-----BEGIN RSA PRIVATE KEY-----`, what `openssl genrsa` wrote before OpenSSL 3). Encrypted PEMs, keys of
 * other algorithms and RSA keys under 2048 bits are refused with the reason.
 */
export const importFlowPrivateKey = (pem: string): ResultAsync<FlowPrivateKey, FlowKeyError> =>
  privateKeyInfoOf(pem).asyncAndThen((pkcs8) =>
    importing(crypto.subtle.importKey('pkcs8', pkcs8, rsaOaep, true, ['decrypt']))
      .andThen(requireModulusLength)
      .andThen((extractable) => ResultAsync.fromSafePromise(flowPrivateKeyOf(pkcs8, extractable))),
  );

/** Reads an SPKI public key PEM for encrypting to it, as WhatsApp does with the key registered for a number. */
export const importFlowPublicKey = (pem: string): ResultAsync<CryptoKey, FlowKeyError> =>
  keyBlockOf(pem, publicKeyLabel)
    .andThen((block) =>
      block.label === publicKeyLabel
        ? derOrError(block).andThen((spki) => requireRsa(spki, 'spki'))
        : err(unexpectedPem(block.label, publicKeyLabel)),
    )
    .asyncAndThen((spki) => importing(crypto.subtle.importKey('spki', spki, rsaOaep, false, ['encrypt'])))
    .andThen(requireModulusLength);

/** A new 2048-bit key pair (`prestabot flows keygen`). */
export const generateFlowKey = async (): Promise<GeneratedFlowKey> => {
  const pair = await crypto.subtle.generateKey(
    { ...rsaOaep, modulusLength: minimumModulusLength, publicExponent: Uint8Array.of(1, 0, 1) },
    true,
    ['encrypt', 'decrypt'],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const privateKeyPem = pemOf('PRIVATE KEY', pkcs8);
  // Read back through the import path, so a generated key is known to load where a pasted one would.
  const imported = await importFlowPrivateKey(privateKeyPem);
  if (imported.isErr()) throw new Error(`a freshly generated key did not import: ${imported.error.type}`);
  return { privateKeyPem, key: imported.value };
};

/** One line for an operator: what is wrong with the key and how to get a usable one. */
export const describeFlowKeyError = (error: FlowKeyError): string => {
  switch (error.type) {
    case 'not_pem':
      return 'no PEM key found: expected a "-----BEGIN … KEY-----" block with base64 inside';
    case 'encrypted_key':
      return 'the key is protected by a passphrase; remove it with `openssl pkey -in key.pem -out plain.pem`';
    case 'unexpected_pem':
      return `found a "${error.label}" PEM block; expected ${error.expected}`;
    case 'not_rsa':
      return `the key is ${error.algorithm}, not RSA; create one with \`openssl genrsa -out private.pem 2048\``;
    case 'key_too_small':
      return `the RSA key has ${error.modulusLength} bits; WhatsApp Flows needs at least ${error.minimum}`;
    case 'invalid_key':
      return 'the PEM block does not hold a readable RSA key';
  }
};

const privateKeyInfoOf = (pem: string): Result<Uint8Array<ArrayBuffer>, FlowKeyError> =>
  keyBlockOf(pem, 'PRIVATE KEY').andThen((block) => {
    switch (block.label) {
      case 'PRIVATE KEY':
        return derOrError(block).andThen((pkcs8) => requireRsa(pkcs8, 'pkcs8'));
      case 'RSA PRIVATE KEY':
        return derOrError(block).map(pkcs1ToPkcs8);
      // SEC1, what `openssl ecparam -genkey` writes.
      case 'EC PRIVATE KEY':
        return err({ type: 'not_rsa' as const, algorithm: 'EC' });
      default:
        return err(unexpectedPem(block.label, privateKeyLabels));
    }
  });

/** The first block of the wanted kind, else the first block (a certificate or parameters pasted instead). */
const keyBlockOf = (pem: string, kind: 'PRIVATE KEY' | 'PUBLIC KEY'): Result<PemBlock, FlowKeyError> => {
  const blocks = pemBlocksOf(pem);
  const block = blocks.find((candidate) => candidate.label.endsWith(kind)) ?? blocks[0];
  if (block === undefined) return err({ type: 'not_pem' });
  return isEncryptedPem(block) ? err({ type: 'encrypted_key' }) : ok(block);
};

const derOrError = (block: PemBlock): Result<Uint8Array<ArrayBuffer>, FlowKeyError> => {
  const der = derOf(block);
  return der === undefined ? err({ type: 'not_pem' }) : ok(der);
};

const requireRsa = (
  der: Uint8Array<ArrayBuffer>,
  structure: 'pkcs8' | 'spki',
): Result<Uint8Array<ArrayBuffer>, FlowKeyError> => {
  const algorithm = keyAlgorithmOf(der, structure);
  if (algorithm === undefined) return err({ type: 'invalid_key' });
  return algorithm === rsaEncryptionOid
    ? ok(der)
    : err({ type: 'not_rsa', algorithm: algorithmNames[algorithm] ?? algorithm });
};

const requireModulusLength = (key: CryptoKey): Result<CryptoKey, FlowKeyError> => {
  const { modulusLength } = key.algorithm as RsaHashedKeyAlgorithm;
  return modulusLength < minimumModulusLength
    ? err({ type: 'key_too_small', modulusLength, minimum: minimumModulusLength })
    : ok(key);
};

/** WebCrypto rejects unreadable key bytes with an opaque `DataError`. */
const importing = (imported: Promise<CryptoKey>): ResultAsync<CryptoKey, FlowKeyError> =>
  ResultAsync.fromPromise(imported, () => ({ type: 'invalid_key' as const }));

const unexpectedPem = (label: string, expected: string): FlowKeyError => ({
  type: 'unexpected_pem',
  label,
  expected,
});

const flowPrivateKeyOf = async (
  pkcs8: Uint8Array<ArrayBuffer>,
  extractable: CryptoKey,
): Promise<FlowPrivateKey> => {
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', await publicKeyOf(extractable)));
  return {
    fingerprint: await fingerprintOf(spki),
    publicKeyPem: pemOf(publicKeyLabel, spki),
    // The kept key cannot be exported; the extractable one was only needed to reach the public half.
    decryptionKey: await crypto.subtle.importKey('pkcs8', pkcs8, rsaOaep, false, ['decrypt']),
  };
};

/** WebCrypto gives out the public half of a private key only through its JWK (`n`, `e`). */
const publicKeyOf = async (extractable: CryptoKey): Promise<CryptoKey> => {
  const { n, e } = await crypto.subtle.exportKey('jwk', extractable);
  if (n === undefined || e === undefined) throw new Error('an RSA JWK always has n and e');
  return crypto.subtle.importKey('jwk', { kty: 'RSA', n, e }, rsaOaep, true, ['encrypt']);
};

/** The first hex digits of SHA-256 over the SPKI DER, as `openssl pkey -pubout -outform DER | sha256sum` shows. */
const fingerprintOf = async (spki: Uint8Array<ArrayBuffer>): Promise<string> =>
  bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', spki))).slice(0, fingerprintHexDigits);
