import type { FlowTokenClaims, FlowTokenError, FlowTokens } from '@prestabot/application';
import {
  err,
  errAsync,
  ok,
  parseContactId,
  parsePhoneNumberId,
  parseTenantId,
  type Result,
  ResultAsync,
  safeTry,
} from '@prestabot/domain';
import { base64UrlToBytes, bytesToBase64Url, bytesToHex, concatBytes } from './encoding.ts';

/** The HMAC key, derived by the caller; never empty. */
export type FlowTokenSecret = string | Uint8Array<ArrayBuffer>;

/*
 * v1 token: `v1.<claims>.<mac>`, both parts base64url, the MAC an HMAC-SHA256 over `v1.<claims>`.
 * The claims are packed in binary to keep the token short (~170 characters for usual ids):
 *   tenant id (16-byte UUID) ‖ contact id (16-byte UUID) ‖ expiry (uint64 ms, big-endian) ‖ nonce (8 bytes)
 *   ‖ phone number id ‖ flow ‖ flow id   (each: 1-byte length, then UTF-8)
 */
const version = 'v1';
const tokenPattern = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const uuidBytes = 16;
const expiryOffset = uuidBytes * 2;
const nonceOffset = expiryOffset + 8;
const fixedBytes = nonceOffset + 8;
const maxTextBytes = 255;

const encoder = new TextEncoder();
// Non-fatal: only bytes under a valid MAC are decoded, and the issuer wrote them with `TextEncoder`.
const utf8 = new TextDecoder();

const invalid = { type: 'invalid_flow_token' } as const;

/** A signed `flow_token` for an outgoing Flow message; each call gets a fresh nonce. */
export const issueFlowToken = async (claims: FlowTokenClaims, secret: FlowTokenSecret): Promise<string> => {
  const signed = `${version}.${bytesToBase64Url(packClaims(claims))}`;
  const mac = await crypto.subtle.sign('HMAC', await importMacKey(secret, 'sign'), encoder.encode(signed));
  return `${signed}.${bytesToBase64Url(new Uint8Array(mac))}`;
};

/** The claims of a token this secret signed, if it has not expired at `now`. */
export const verifyFlowToken = (
  token: string,
  secret: FlowTokenSecret,
  now: Date,
): ResultAsync<FlowTokenClaims, FlowTokenError> => {
  const [, claimsPart = '', macPart = ''] = tokenPattern.exec(token) ?? [];
  const packed = base64UrlToBytes(claimsPart);
  const mac = base64UrlToBytes(macPart);
  if (packed === undefined || mac === undefined) return errAsync(invalid);
  return ResultAsync.fromSafePromise(
    // `verify` compares the MAC in constant time.
    importMacKey(secret, 'verify').then((key) =>
      crypto.subtle.verify('HMAC', key, mac, encoder.encode(`${version}.${claimsPart}`)),
    ),
  ).andThen((authentic) => {
    if (!authentic) return err(invalid);
    return unpackClaims(packed).andThen((claims) =>
      now.getTime() < claims.expiresAt.getTime()
        ? ok(claims)
        : err({ type: 'expired_flow_token' as const, expiredAt: claims.expiresAt }),
    );
  });
};

const importMacKey = (secret: FlowTokenSecret, usage: 'sign' | 'verify'): Promise<CryptoKey> => {
  const raw = typeof secret === 'string' ? encoder.encode(secret) : secret;
  if (raw.length === 0) throw new Error('the flow token secret is empty');
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
};

/** Claims come from our own code: an unencodable one is a bug, so it throws. */
const packClaims = (claims: FlowTokenClaims): Uint8Array => {
  const expiresAtMs = claims.expiresAt.getTime();
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) {
    throw new RangeError('expiresAt is not a valid date');
  }
  const fixed = new Uint8Array(fixedBytes);
  const view = new DataView(fixed.buffer);
  fixed.set(uuidToBytes(claims.tenantId), 0);
  fixed.set(uuidToBytes(claims.contactId), uuidBytes);
  view.setBigUint64(expiryOffset, BigInt(expiresAtMs));
  fixed.set(crypto.getRandomValues(new Uint8Array(fixedBytes - nonceOffset)), nonceOffset);
  return concatBytes(
    fixed,
    lengthPrefixed(claims.phoneNumberId),
    lengthPrefixed(claims.flow),
    lengthPrefixed(claims.flowId),
  );
};

/** Reached only with a valid MAC, so a failure here means a token signed by a broken issuer. */
const unpackClaims = (packed: Uint8Array<ArrayBuffer>): Result<FlowTokenClaims, FlowTokenError> =>
  safeTry(function* () {
    if (packed.length < fixedBytes) return err(invalid);
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    const [phoneNumberId, flow, flowId] = readLengthPrefixed(packed.subarray(fixedBytes), 3) ?? [];
    if (phoneNumberId === undefined || flow === undefined || flowId === undefined) return err(invalid);
    return ok({
      tenantId: yield* parseTenantId(bytesToUuid(packed.subarray(0, uuidBytes))).mapErr(() => invalid),
      phoneNumberId: yield* parsePhoneNumberId(phoneNumberId).mapErr(() => invalid),
      contactId: yield* parseContactId(bytesToUuid(packed.subarray(uuidBytes, expiryOffset))).mapErr(
        () => invalid,
      ),
      flow,
      flowId,
      expiresAt: new Date(Number(view.getBigUint64(expiryOffset))),
    });
  });

const lengthPrefixed = (text: string): Uint8Array => {
  const bytes = encoder.encode(text);
  if (bytes.length > maxTextBytes) throw new RangeError(`a flow token claim is over ${maxTextBytes} bytes`);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
};

/** Exactly `count` length-prefixed strings and nothing after them. */
const readLengthPrefixed = (bytes: Uint8Array, count: number): string[] | undefined => {
  const texts: string[] = [];
  let offset = 0;
  while (texts.length < count) {
    const length = bytes[offset];
    if (length === undefined || offset + 1 + length > bytes.length) return undefined;
    texts.push(utf8.decode(bytes.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
  }
  return offset === bytes.length ? texts : undefined;
};

const uuidToBytes = (uuid: string): Uint8Array => {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError('a flow token id is not a UUID');
  return Uint8Array.from({ length: uuidBytes }, (_, index) =>
    Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16),
  );
};

const bytesToUuid = (bytes: Uint8Array): string => {
  const hex = bytesToHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** The bot's flow tokens, signed with one secret (derived by the composition root). */
export class SignedFlowTokens implements FlowTokens {
  readonly #secret: FlowTokenSecret;

  constructor(secret: FlowTokenSecret) {
    this.#secret = secret;
  }

  issue(claims: FlowTokenClaims): ResultAsync<string, never> {
    return ResultAsync.fromSafePromise(issueFlowToken(claims, this.#secret));
  }

  verify(token: string, now: Date): ResultAsync<FlowTokenClaims, FlowTokenError> {
    return verifyFlowToken(token, this.#secret, now);
  }
}
