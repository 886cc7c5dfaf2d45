import type { FlowTokenClaims } from '@prestabot/application';
import { parseContactId, parsePhoneNumberId, parseTenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { bytesToBase64Url } from './encoding.ts';
import { issueFlowToken, verifyFlowToken } from './flow-token.ts';

const secret = 'flow-token-secret-derived-by-the-caller';
const issuedAt = new Date('2026-03-01T12:00:00.000Z');

const claims: FlowTokenClaims = {
  tenantId: parseTenantId('0f8fad5b-d9cb-469f-a165-70867728950e')._unsafeUnwrap(),
  phoneNumberId: parsePhoneNumberId('106540352242922')._unsafeUnwrap(),
  contactId: parseContactId('7c9e6679-7425-40de-944b-e07fc1f90ae7')._unsafeUnwrap(),
  flow: 'profile',
  flowId: '1234567890123456',
  expiresAt: new Date(issuedAt.getTime() + 24 * 3600_000),
};

const verify = (token: string, at = issuedAt, key: string | Uint8Array<ArrayBuffer> = secret) =>
  verifyFlowToken(token, key, at);

const invalid = { type: 'invalid_flow_token' };

describe('flow tokens', () => {
  it('verifies to the claims it was issued with', async () => {
    const token = await issueFlowToken(claims, secret);

    expect((await verify(token))._unsafeUnwrap()).toEqual(claims);
  });

  it('is short, URL-safe and versioned', async () => {
    const token = await issueFlowToken(claims, secret);

    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.length).toBeLessThan(200);
  });

  it('differs on every issue (random nonce), each one valid', async () => {
    const [first, second] = await Promise.all([
      issueFlowToken(claims, secret),
      issueFlowToken(claims, secret),
    ]);

    expect(first).not.toBe(second);
    expect((await verify(second)).isOk()).toBe(true);
  });

  it('keeps non-ASCII flow names and milliseconds', async () => {
    const unusual = { ...claims, flow: 'préstamo 💸', expiresAt: new Date('2030-01-01T00:00:00.123Z') };

    expect((await verify(await issueFlowToken(unusual, secret)))._unsafeUnwrap()).toEqual(unusual);
  });

  it('accepts a secret given as bytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const token = await issueFlowToken(claims, bytes);

    expect((await verify(token, issuedAt, bytes)).isOk()).toBe(true);
  });

  it('is valid until, and expired from, its expiry instant', async () => {
    const token = await issueFlowToken(claims, secret);
    const lastMoment = new Date(claims.expiresAt.getTime() - 1);

    expect((await verify(token, lastMoment)).isOk()).toBe(true);
    expect((await verify(token, claims.expiresAt))._unsafeUnwrapErr()).toEqual({
      type: 'expired_flow_token',
      expiredAt: claims.expiresAt,
    });
  });

  it('reports a token signed with another secret as invalid, even when expired', async () => {
    const token = await issueFlowToken(claims, 'another-secret');

    expect((await verify(token))._unsafeUnwrapErr()).toEqual(invalid);
    expect((await verify(token, new Date('2099-01-01')))._unsafeUnwrapErr()).toEqual(invalid);
  });

  it('reports changed claims as invalid (a contact swapped in, the signature kept)', async () => {
    const token = await issueFlowToken(claims, secret);
    const forged = await issueFlowToken(
      { ...claims, contactId: parseContactId('11111111-2222-4333-8444-555555555555')._unsafeUnwrap() },
      'attacker-secret',
    );
    const [, forgedClaims] = forged.split('.');
    const [, , mac] = token.split('.');

    expect((await verify(`v1.${forgedClaims}.${mac}`))._unsafeUnwrapErr()).toEqual(invalid);
  });

  it('reports an extended expiry as invalid', async () => {
    const token = await issueFlowToken(claims, secret);
    const [, packed = '', mac] = token.split('.');
    const bytes = Uint8Array.from(atob(packed.replaceAll('-', '+').replaceAll('_', '/')), (c) =>
      c.charCodeAt(0),
    );
    bytes[33] = 0xff;

    expect((await verify(`v1.${bytesToBase64Url(bytes)}.${mac}`))._unsafeUnwrapErr()).toEqual(invalid);
  });

  it.each([
    ['truncated by one character', (token: string) => token.slice(0, -1)],
    ['without its signature', (token: string) => token.slice(0, token.lastIndexOf('.'))],
    ['cut in the claims', (token: string) => `${token.slice(0, 20)}${token.slice(token.lastIndexOf('.'))}`],
    ['with another version', (token: string) => `v2${token.slice(2)}`],
    ['with padding added', (token: string) => `${token}=`],
    ['with spaces around it', (token: string) => ` ${token} `],
    ['with the last signature character re-spelled (same bytes)', respellLastCharacter],
  ])('reports a token %s as invalid', async (_case, change) => {
    const token = await issueFlowToken(claims, secret);

    expect((await verify(change(token)))._unsafeUnwrapErr()).toEqual(invalid);
  });

  it.each([
    ['empty', ''],
    ['the old unsigned format', 'profile_0f8fad5b-d9cb-469f-a165-70867728950e_7c9e6679_1767225600000'],
    ['Flow Builder preview', 'flows-builder-6a4b7f0e'],
    ['only dots', 'v1..'],
  ])('reports a %s token as invalid', async (_case, token) => {
    expect((await verify(token))._unsafeUnwrapErr()).toEqual(invalid);
  });

  it('refuses to issue claims it cannot encode, as the bug that is', async () => {
    await expect(issueFlowToken({ ...claims, flow: 'x'.repeat(256) }, secret)).rejects.toThrow(RangeError);
    await expect(issueFlowToken({ ...claims, expiresAt: new Date(Number.NaN) }, secret)).rejects.toThrow(
      RangeError,
    );
    await expect(issueFlowToken(claims, '')).rejects.toThrow('empty');
  });
});

/**
 * 32 bytes take 43 base64url characters whose last 2 bits are unused; another spelling of those bits decodes
 * to the same MAC, and must still be refused.
 */
function respellLastCharacter(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.at(-1) ?? 'A');
  return `${token.slice(0, -1)}${alphabet[last ^ 0b01]}`;
}
