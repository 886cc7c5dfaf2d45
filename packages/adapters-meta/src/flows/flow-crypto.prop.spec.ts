import { fc, test } from '@fast-check/vitest';
import type { JsonObject } from '@prestabot/domain';
import { beforeAll, describe, expect } from 'vitest';
import { base64ToBytes, bytesToBase64 } from './encoding.ts';
import {
  decryptFlowRequest,
  decryptFlowResponse,
  type EncryptedFlowRequest,
  encryptFlowRequest,
  encryptFlowResponse,
} from './flow-crypto.ts';
import { type FlowPrivateKey, generateFlowKey, importFlowPublicKey } from './keys.ts';

const runs = { numRuns: 1000 };

/** RSA key generation takes a while: two keys (a rotation's current and previous) serve every run. */
type Candidate = { readonly key: FlowPrivateKey; readonly publicKey: CryptoKey };
let candidates: readonly Candidate[] = [];

beforeAll(async () => {
  candidates = await Promise.all(
    [generateFlowKey(), generateFlowKey()].map(async (generated) => {
      const { key } = await generated;
      return { key, publicKey: (await importFlowPublicKey(key.publicKeyPem))._unsafeUnwrap() };
    }),
  );
});

const keys = () => candidates.map((candidate) => candidate.key);
const candidate = (index: number): Candidate => candidates[index % candidates.length]!;

const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }),
  { maxKeys: 8 },
);

/** What the other side reads: JSON has no `-0` and no prototype. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

type Region = 'encrypted_aes_key' | 'initial_vector' | 'ciphertext' | 'tag';

/** Flips one bit of the bytes behind one part of the request, re-encoded as base64. */
const flipBit = (
  body: EncryptedFlowRequest,
  region: Region,
  position: number,
  bit: number,
): EncryptedFlowRequest => {
  const field = region === 'ciphertext' || region === 'tag' ? 'encrypted_flow_data' : region;
  const bytes = base64ToBytes(body[field])!;
  const tagStart = bytes.length - 16;
  const [from, length] =
    region === 'tag' ? [tagStart, 16] : region === 'ciphertext' ? [0, tagStart] : [0, bytes.length];
  // An empty payload has no ciphertext byte; its tag is flipped instead.
  const index = length === 0 ? tagStart : from + (position % length);
  bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
  return { ...body, [field]: bytesToBase64(bytes) };
};

describe('Flows encryption properties', () => {
  test.prop([jsonObject, jsonObject, fc.nat()], runs)(
    'any JSON request to any candidate key decrypts to itself, and any response round-trips',
    async (request, response, keyIndex) => {
      const { key, publicKey } = candidate(keyIndex);
      const sealed = await encryptFlowRequest(request, publicKey);

      const decrypted = (await decryptFlowRequest(sealed.body, keys()))._unsafeUnwrap();
      const answer = await encryptFlowResponse(response, decrypted.aesKey, decrypted.iv);

      expect(decrypted.payload).toEqual(asJson(request));
      expect(decrypted.keyFingerprint).toBe(key.fingerprint);
      expect((await decryptFlowResponse(answer, sealed.aesKey, sealed.iv))._unsafeUnwrap()).toEqual(
        asJson(response),
      );
    },
  );

  test.prop(
    [
      jsonObject,
      fc.nat(),
      fc.constantFrom<Region>('encrypted_aes_key', 'initial_vector', 'ciphertext', 'tag'),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
    ],
    runs,
  )(
    'one flipped bit anywhere in a request makes it undecryptable, never a wrong payload',
    async (request, keyIndex, region, position, bit) => {
      const sealed = await encryptFlowRequest(request, candidate(keyIndex).publicKey);

      const error = (
        await decryptFlowRequest(flipBit(sealed.body, region, position, bit), keys())
      )._unsafeUnwrapErr();

      expect(['undecryptable', 'malformed']).toContain(error.type);
    },
  );

  test.prop([jsonObject, jsonObject, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 })], runs)(
    'one flipped bit anywhere in a response makes it undecryptable',
    async (request, response, keyIndex, position, bit) => {
      const sealed = await encryptFlowRequest(request, candidate(keyIndex).publicKey);
      const decrypted = (await decryptFlowRequest(sealed.body, keys()))._unsafeUnwrap();
      const answer = base64ToBytes(await encryptFlowResponse(response, decrypted.aesKey, decrypted.iv))!;
      answer[position % answer.length] = (answer[position % answer.length] ?? 0) ^ (1 << bit);

      const error = (
        await decryptFlowResponse(bytesToBase64(answer), sealed.aesKey, sealed.iv)
      )._unsafeUnwrapErr();

      expect(error).toEqual({ type: 'undecryptable', reason: 'authentication_failed' });
    },
  );

  const base64Of = (bytes: fc.Arbitrary<Uint8Array>) => bytes.map(bytesToBase64);
  const field = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 64 }),
    base64Of(fc.uint8Array({ maxLength: 300 })),
    base64Of(fc.uint8Array({ minLength: 256, maxLength: 256 })),
    base64Of(fc.uint8Array({ minLength: 16, maxLength: 16 })),
  );

  test.prop(
    [
      fc.oneof(
        fc.anything(),
        fc.record({ encrypted_flow_data: field, encrypted_aes_key: field, initial_vector: field }),
      ),
    ],
    runs,
  )('any other body is refused with a reason, never thrown', async (body) => {
    const error = (await decryptFlowRequest(body, keys()))._unsafeUnwrapErr();

    expect(['not_encrypted', 'malformed', 'undecryptable']).toContain(error.type);
  });
});
