import { base64ToBytes, bytesToBase64 } from './encoding.ts';

/** One `-----BEGIN <label>-----` … `-----END <label>-----` block (RFC 7468), its body still text. */
export type PemBlock = { readonly label: string; readonly body: string };

const pemBlockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
/** RFC 1421 headers: the legacy OpenSSL way of marking a passphrase-protected `RSA PRIVATE KEY`. */
const encryptedHeaderPattern = /^Proc-Type:\s*4,\s*ENCRYPTED/m;
const lineLength = 64;

/**
 * Every PEM block in `text`, in order. A PEM pasted into an environment variable often arrives with
 * literal `\n` sequences and Windows line ends; both are read as line breaks.
 */
export const pemBlocksOf = (text: string): PemBlock[] =>
  Array.from(text.replaceAll('\\n', '\n').matchAll(pemBlockPattern), ([, label = '', body = '']) => ({
    label,
    body,
  }));

export const isEncryptedPem = (block: PemBlock): boolean =>
  block.label.startsWith('ENCRYPTED ') || encryptedHeaderPattern.test(block.body);

/** The DER bytes of a block; `undefined` when its body is not base64. */
export const derOf = (block: PemBlock): Uint8Array<ArrayBuffer> | undefined => {
  const der = base64ToBytes(block.body);
  return der === undefined || der.length === 0 ? undefined : der;
};

/** `der` as a PEM block with 64-character lines, as OpenSSL writes it. */
export const pemOf = (label: string, der: Uint8Array): string => {
  const lines = bytesToBase64(der).match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n');
};
