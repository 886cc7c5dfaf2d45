import { fc, test } from '@fast-check/vitest';
import type { FlowTokenClaims } from '@prestabot/application';
import { parseContactId, parsePhoneNumberId, parseTenantId } from '@prestabot/domain';
import { describe, expect } from 'vitest';
import { issueFlowToken, verifyFlowToken } from './flow-token.ts';

const runs = { numRuns: 1000 };
const secret = 'flow-token-secret';

const uuid = fc.uuid();
/** Claims are bounded to 255 UTF-8 bytes each; 60 graphemes of up to 4 bytes stay under it. */
const name = fc.string({ unit: 'grapheme', maxLength: 60 });

const claims: fc.Arbitrary<FlowTokenClaims> = fc.record({
  tenantId: uuid.map((value) => parseTenantId(value)._unsafeUnwrap()),
  phoneNumberId: fc.stringMatching(/^[0-9]{1,32}$/).map((value) => parsePhoneNumberId(value)._unsafeUnwrap()),
  contactId: uuid.map((value) => parseContactId(value)._unsafeUnwrap()),
  flow: name,
  flowId: name,
  expiresAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
});

/** HMAC pads short keys with zero bytes, so `k` and `k\0` sign alike: a property of HMAC, not a forgery. */
const signsAlike = (left: string, right: string): boolean =>
  left.replace(/\0+$/, '') === right.replace(/\0+$/, '');

describe('flow token properties', () => {
  test.prop([claims], runs)('any claims verify back to themselves before they expire', async (issued) => {
    const token = await issueFlowToken(issued, secret);
    const justBefore = new Date(issued.expiresAt.getTime() - 1);

    expect((await verifyFlowToken(token, secret, justBefore))._unsafeUnwrap()).toEqual(issued);
  });

  test.prop([claims, fc.date({ noInvalidDate: true })], runs)(
    'a token is valid exactly while now is before its expiry',
    async (issued, now) => {
      const verified = await verifyFlowToken(await issueFlowToken(issued, secret), secret, now);

      expect(verified.isOk()).toBe(now.getTime() < issued.expiresAt.getTime());
    },
  );

  test.prop([claims, fc.nat(), fc.integer({ min: 1, max: 255 })], runs)(
    'any changed character makes a token invalid, never expired and never valid',
    async (issued, position, change) => {
      const token = await issueFlowToken(issued, secret);
      const index = position % token.length;
      const changed = String.fromCharCode(token.charCodeAt(index) ^ change);
      const tampered = `${token.slice(0, index)}${changed}${token.slice(index + 1)}`;

      expect((await verifyFlowToken(tampered, secret, new Date(0)))._unsafeUnwrapErr()).toEqual({
        type: 'invalid_flow_token',
      });
    },
  );

  test.prop([claims, fc.string({ minLength: 1 })], runs)(
    'a token signed with any other secret is invalid',
    async (issued, otherSecret) => {
      fc.pre(!signsAlike(otherSecret, secret));
      const token = await issueFlowToken(issued, otherSecret);

      expect((await verifyFlowToken(token, secret, new Date(0)))._unsafeUnwrapErr()).toEqual({
        type: 'invalid_flow_token',
      });
    },
  );

  test.prop([fc.string({ unit: 'binary', maxLength: 400 })], runs)(
    'any string is refused with a reason, never thrown',
    async (token) => {
      expect((await verifyFlowToken(token, secret, new Date(0)))._unsafeUnwrapErr()).toEqual({
        type: 'invalid_flow_token',
      });
    },
  );
});
