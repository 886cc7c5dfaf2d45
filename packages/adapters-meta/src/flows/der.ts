// The little DER (ASN.1) needed around key import: WebCrypto reads PKCS#8 and SPKI but not PKCS#1, and
// reports any unreadable key with the same opaque error, so the algorithm is looked up here first.

import { concatBytes } from './encoding.ts';

const derTag = { integer: 0x02, octetString: 0x04, null: 0x05, objectIdentifier: 0x06, sequence: 0x30 };

/** rsaEncryption (PKCS#1): the algorithm of every RSA key OpenSSL writes, and the only one Flows takes. */
export const rsaEncryptionOid = '1.2.840.113549.1.1.1';
/** The same OID, DER-encoded. */
const rsaEncryptionOidBytes = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);

type DerElement = { readonly tag: number; readonly content: Uint8Array; readonly end: number };

/** One tag-length-value element (definite lengths only, as DER requires). */
const derElement = (tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> =>
  concatBytes(Uint8Array.of(tag), derLength(content.length), content);

const derLength = (length: number): Uint8Array => {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
};

/** Wraps a PKCS#1 `RSAPrivateKey` into the PKCS#8 `PrivateKeyInfo` WebCrypto imports (RFC 5208 §5). */
export const pkcs1ToPkcs8 = (pkcs1: Uint8Array): Uint8Array<ArrayBuffer> =>
  derElement(
    derTag.sequence,
    concatBytes(
      derElement(derTag.integer, Uint8Array.of(0)),
      derElement(
        derTag.sequence,
        concatBytes(
          derElement(derTag.objectIdentifier, rsaEncryptionOidBytes),
          derElement(derTag.null, new Uint8Array()),
        ),
      ),
      derElement(derTag.octetString, pkcs1),
    ),
  );

/**
 * The dotted algorithm OID of a PKCS#8 `PrivateKeyInfo` or an SPKI `SubjectPublicKeyInfo`; `undefined` when
 * the bytes are not that structure.
 */
export const keyAlgorithmOf = (der: Uint8Array, structure: 'pkcs8' | 'spki'): string | undefined => {
  const outer = readElement(der, 0);
  if (outer?.tag !== derTag.sequence || outer.end !== der.length) return undefined;
  // PKCS#8 starts with a version INTEGER; SPKI starts with the AlgorithmIdentifier.
  const version = structure === 'pkcs8' ? readElement(outer.content, 0) : undefined;
  if (structure === 'pkcs8' && version?.tag !== derTag.integer) return undefined;
  const algorithm = readElement(outer.content, version?.end ?? 0);
  if (algorithm?.tag !== derTag.sequence) return undefined;
  const oid = readElement(algorithm.content, 0);
  return oid?.tag === derTag.objectIdentifier ? dottedOid(oid.content) : undefined;
};

const readElement = (bytes: Uint8Array, offset: number): DerElement | undefined => {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) return undefined;
  let length = first;
  let start = offset + 2;
  if (first >= 0x80) {
    const lengthBytes = first & 0x7f;
    // 0x80 (indefinite) is BER, not DER; more than 4 length bytes is no key.
    if (lengthBytes === 0 || lengthBytes > 4 || start + lengthBytes > bytes.length) return undefined;
    length = 0;
    for (const byte of bytes.subarray(start, start + lengthBytes)) length = length * 256 + byte;
    start += lengthBytes;
  }
  const end = start + length;
  return end > bytes.length ? undefined : { tag, content: bytes.subarray(start, end), end };
};

/** Base-128 arcs, the first byte holding the first two (X.690 §8.19). */
const dottedOid = (content: Uint8Array): string => {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) {
      arcs.push(value);
      value = 0;
    }
  }
  const [head = 0, ...rest] = arcs;
  const first = Math.min(Math.floor(head / 40), 2);
  return [first, head - first * 40, ...rest].join('.');
};
