import { encryptFlowRequest, importFlowPublicKey } from '@prestabot/adapters-meta';
import { expectOk } from '@prestabot/application/testing';
import type { JsonObject } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FlowsEndpointFixture, flowsEndpointFixture, numberA } from './flows.fixture.ts';

const fromBase64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const tagBytes = 16;

/** Where a flipped bit lands: the wrapped AES key, the IV, the GCM tag, or the ciphertext before it. */
const regions = ['aes_key', 'iv', 'tag', 'data'] as const;

describe('the Flows endpoint under tampering', () => {
  let flows: FlowsEndpointFixture;
  let publicKey: CryptoKey;

  beforeAll(async () => {
    flows = await flowsEndpointFixture();
    publicKey = await expectOk(importFlowPublicKey(await flows.newKey(numberA)));
  });

  it('answers 421 to any request with one flipped bit, whatever the payload, and never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
        fc.constantFrom(...regions),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (data, region, position, bit) => {
          const payload = { version: '3.0', action: 'data_exchange', flow_token: 'x', data } as JsonObject;
          const { body } = await encryptFlowRequest(payload, publicKey);
          const aesKey = fromBase64(body.encrypted_aes_key);
          const iv = fromBase64(body.initial_vector);
          const sealed = fromBase64(body.encrypted_flow_data);
          const [bytes, start, length] =
            region === 'aes_key'
              ? [aesKey, 0, aesKey.length]
              : region === 'iv'
                ? [iv, 0, iv.length]
                : region === 'tag'
                  ? [sealed, sealed.length - tagBytes, tagBytes]
                  : [sealed, 0, sealed.length - tagBytes];
          if (length === 0) return;
          const index = start + (position % length);
          bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
          const response = await flows.postRaw(
            JSON.stringify({
              encrypted_aes_key: toBase64(aesKey),
              initial_vector: toBase64(iv),
              encrypted_flow_data: toBase64(sealed),
            }),
          );
          expect(response.status).toBe(421);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers every intact request with a 200 or a 4xx WhatsApp acts on, never a 500', async () => {
    const token = await flows.tokenFor(flows.tenantA, numberA);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('INIT', 'data_exchange', 'BACK', 'ping', 'navigate'),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
        fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
        async (action, data, screen) => {
          const payload = {
            version: '3.0',
            action,
            flow_token: token,
            data,
            ...defined({ screen }),
          } as JsonObject;
          const { body } = await encryptFlowRequest(payload, publicKey);
          const response = await flows.postRaw(JSON.stringify(body));
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 200 },
    );
  });
});
