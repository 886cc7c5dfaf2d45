import { webCryptoHmacSha256 } from '@prestabot/adapters-meta';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeHmacSha256 } from './node-hmac.ts';

describe('node:crypto HMAC-SHA256', () => {
  it('agrees with WebCrypto for any secret and body', async () => {
    const webCrypto = webCryptoHmacSha256();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }),
        fc.uint8Array({ maxLength: 4096 }),
        async (secret, body) => {
          expect(Buffer.from(await nodeHmacSha256(secret, body))).toEqual(
            Buffer.from(await webCrypto(secret, body)),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});
