// Byte ↔ text encodings with Web APIs only (`atob`/`btoa`), so they run on Node, Deno and the edge alike.

const base64UrlPattern = /^[A-Za-z0-9_-]*$/;
/** `String.fromCharCode` takes its bytes as arguments; chunks keep large bodies under the argument limit. */
const chunkSize = 0x8000;

/** Standard base64 with padding: what Meta sends in Flows requests and expects back. */
export const bytesToBase64 = (bytes: Uint8Array): string => {
  let binary = '';
  for (let start = 0; start < bytes.length; start += chunkSize) {
    binary += String.fromCharCode(...bytes.subarray(start, start + chunkSize));
  }
  return btoa(binary);
};

/** Standard base64 (whitespace and missing padding forgiven, as `atob` does); `undefined` when it is not base64. */
export const base64ToBytes = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
};

/** base64url without padding (RFC 4648 §5): safe in tokens and URLs. */
export const bytesToBase64Url = (bytes: Uint8Array): string =>
  bytesToBase64(bytes).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/**
 * Strict base64url without padding. Only the canonical spelling is accepted: otherwise the unused low bits
 * of the last character would let several strings decode to the same bytes (a MAC would verify on each).
 */
export const base64UrlToBytes = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!base64UrlPattern.test(text)) return undefined;
  const bytes = base64ToBytes(text.replaceAll('-', '+').replaceAll('_', '/'));
  return bytes !== undefined && bytesToBase64Url(bytes) === text ? bytes : undefined;
};

export const bytesToHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

export const concatBytes = (...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
};
