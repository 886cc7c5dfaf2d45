import {
  type CipherGCM,
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decryptFlowRequest,
  decryptFlowResponse,
  type EncryptedFlowRequest,
  encryptFlowRequest,
  encryptFlowResponse,
  type FlowDecryptionError,
} from './flow-crypto.ts';
import { type GeneratedFlowKey, generateFlowKey, importFlowPublicKey } from './keys.ts';

const dataExchange = {
  version: '3.0',
  action: 'data_exchange',
  screen: 'PROFILE_FORM',
  data: { first_name: 'José', last_name: 'Ñúñez', email: 'jose@example.cl' },
  flow_token: 'v1.token',
};

let current: GeneratedFlowKey;
let previous: GeneratedFlowKey;

beforeAll(async () => {
  [current, previous] = await Promise.all([generateFlowKey(), generateFlowKey()]);
});

const publicKeyOf = async (generated: GeneratedFlowKey) =>
  (await importFlowPublicKey(generated.key.publicKeyPem))._unsafeUnwrap();

/**
 * A request built the way Meta's reference endpoint reads it (`crypto.privateDecrypt` with OAEP/SHA-256,
 * `aes-128-gcm`, tag appended), with Node's OpenSSL rather than the WebCrypto code under test.
 */
const opensslRequest = (
  plaintext: string,
  publicKeyPem: string,
  aesKey: Buffer = randomBytes(16),
  iv: Buffer = randomBytes(16),
): EncryptedFlowRequest => {
  // A 32-byte key gets AES-256, for the test that such a key is refused.
  const cipher = createCipheriv(`aes-${aesKey.length * 8}-gcm`, aesKey, iv) as CipherGCM;
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const wrapped = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  return {
    encrypted_flow_data: sealed.toString('base64'),
    encrypted_aes_key: wrapped.toString('base64'),
    initial_vector: iv.toString('base64'),
  };
};

/** Meta's reference `decryptRequest`, line for line in Node's OpenSSL. */
const opensslDecryptRequest = (body: EncryptedFlowRequest, privateKeyPem: string) => {
  const aesKey = privateDecrypt(
    { key: createPrivateKey(privateKeyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(body.encrypted_aes_key, 'base64'),
  );
  const sealed = Buffer.from(body.encrypted_flow_data, 'base64');
  const decipher = createDecipheriv('aes-128-gcm', aesKey, Buffer.from(body.initial_vector, 'base64'));
  decipher.setAuthTag(sealed.subarray(-16));
  return JSON.parse(
    Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()]).toString('utf8'),
  );
};

const decryptError = async (body: unknown): Promise<FlowDecryptionError> =>
  (await decryptFlowRequest(body, [current.key]))._unsafeUnwrapErr();

const withField = (body: EncryptedFlowRequest, field: keyof EncryptedFlowRequest, bytes: Uint8Array) => ({
  ...body,
  [field]: Buffer.from(bytes).toString('base64'),
});

describe('a Flows exchange', () => {
  it('round-trips: request as WhatsApp sends it → decrypted → response → read with the flipped IV', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));

    const decrypted = (await decryptFlowRequest(sealed.body, [current.key]))._unsafeUnwrap();
    const response = {
      screen: 'SUCCESS',
      data: { extension_message_response: { params: { flow_token: 't' } } },
    };
    const answer = await encryptFlowResponse(response, decrypted.aesKey, decrypted.iv);

    expect(decrypted.payload).toEqual(dataExchange);
    expect(decrypted.iv).toEqual(sealed.iv);
    expect(decrypted.keyFingerprint).toBe(current.key.fingerprint);
    expect(answer).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect((await decryptFlowResponse(answer, sealed.aesKey, sealed.iv))._unsafeUnwrap()).toEqual(response);
  });

  it('reads a request encrypted by OpenSSL as in Meta’s reference endpoint', async () => {
    const body = opensslRequest(JSON.stringify(dataExchange), current.key.publicKeyPem);

    expect((await decryptFlowRequest(body, [current.key]))._unsafeUnwrap().payload).toEqual(dataExchange);
  });

  it('encrypts requests that Meta’s reference endpoint reads', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));

    expect(opensslDecryptRequest(sealed.body, current.privateKeyPem)).toEqual(dataExchange);
  });

  it('answers in the format Meta’s reference endpoint writes (IV of `~byte`, tag appended, base64)', async () => {
    const aesKey = randomBytes(16);
    const iv = randomBytes(16);
    const body = opensslRequest(JSON.stringify(dataExchange), current.key.publicKeyPem, aesKey, iv);
    const decrypted = (await decryptFlowRequest(body, [current.key]))._unsafeUnwrap();

    const answer = Buffer.from(
      await encryptFlowResponse({ data: { status: 'active' } }, decrypted.aesKey, iv),
      'base64',
    );
    const decipher = createDecipheriv('aes-128-gcm', aesKey, Buffer.from(Array.from(iv, (byte) => ~byte)));
    decipher.setAuthTag(answer.subarray(-16));
    const plaintext = Buffer.concat([decipher.update(answer.subarray(0, -16)), decipher.final()]).toString(
      'utf8',
    );

    expect(JSON.parse(plaintext)).toEqual({ data: { status: 'active' } });
  });

  it('ignores fields it does not know next to the encrypted ones', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));

    expect((await decryptFlowRequest({ ...sealed.body, extra: 1 }, [current.key])).isOk()).toBe(true);
  });
});

describe('key rotation', () => {
  it('decrypts a request still encrypted to the previous key, and says which key did', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(previous));

    const decrypted = (await decryptFlowRequest(sealed.body, [current.key, previous.key]))._unsafeUnwrap();

    expect(decrypted.payload).toEqual(dataExchange);
    expect(decrypted.keyFingerprint).toBe(previous.key.fingerprint);
  });

  it('refuses a request to a key that is no longer a candidate', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(previous));

    expect(await decryptError(sealed.body)).toEqual({ type: 'undecryptable', reason: 'no_key_unwraps' });
  });

  it('refuses every request when there is no key', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));

    expect((await decryptFlowRequest(sealed.body, []))._unsafeUnwrapErr()).toEqual({
      type: 'undecryptable',
      reason: 'no_key_unwraps',
    });
  });
});

describe('decryptFlowRequest refusals', () => {
  it.each([
    ['a plaintext ping', { version: '3.0', action: 'ping' }],
    ['a plaintext "testing mode" request', { flow_token: 'profile_x', data: { first_name: 'Eve' } }],
    ['a body missing the IV', { encrypted_flow_data: 'AAAA', encrypted_aes_key: 'AAAA' }],
    ['fields that are not strings', { encrypted_flow_data: 1, encrypted_aes_key: 2, initial_vector: 3 }],
    ['null', null],
    ['an array', []],
    ['a string', 'encrypted_flow_data'],
  ])('refuses %s as not encrypted', async (_case, body) => {
    expect(await decryptError(body)).toEqual({ type: 'not_encrypted' });
  });

  it.each<[string, keyof EncryptedFlowRequest]>([
    ['the data', 'encrypted_flow_data'],
    ['the AES key', 'encrypted_aes_key'],
    ['the IV', 'initial_vector'],
  ])('reports %s that is not base64 as malformed', async (_case, field) => {
    const body = opensslRequest('{}', current.key.publicKeyPem);

    expect(await decryptError({ ...body, [field]: 'not base64!' })).toEqual({
      type: 'malformed',
      reason: `${field} is not base64`,
    });
  });

  it('reports an IV that is not 16 bytes as malformed', async () => {
    const body = withField(opensslRequest('{}', current.key.publicKeyPem), 'initial_vector', randomBytes(12));

    expect(await decryptError(body)).toEqual({
      type: 'malformed',
      reason: 'initial_vector has 12 bytes, not 16',
    });
  });

  it('reports data shorter than its tag as malformed', async () => {
    const body = withField(
      opensslRequest('{}', current.key.publicKeyPem),
      'encrypted_flow_data',
      randomBytes(15),
    );

    expect(await decryptError(body)).toEqual({
      type: 'malformed',
      reason: 'encrypted_flow_data has 15 bytes, fewer than its 16-byte tag',
    });
  });

  it('reports an AES key that is not 16 bytes (AES-256) as malformed', async () => {
    const body = opensslRequest('{}', current.key.publicKeyPem, randomBytes(32));

    expect(await decryptError(body)).toEqual({
      type: 'malformed',
      reason: 'the AES key has 32 bytes, not 16',
    });
  });

  it('reports a changed tag as undecryptable', async () => {
    const body = opensslRequest(JSON.stringify(dataExchange), current.key.publicKeyPem);
    const sealed = Buffer.from(body.encrypted_flow_data, 'base64');
    sealed[sealed.length - 1] = (sealed.at(-1) ?? 0) ^ 0x01;

    expect(await decryptError(withField(body, 'encrypted_flow_data', sealed))).toEqual({
      type: 'undecryptable',
      reason: 'authentication_failed',
    });
  });

  it.each([
    ['text that is not JSON', 'ping'],
    ['a JSON array', '[{"action":"ping"}]'],
    ['a JSON string', '"ping"'],
    ['JSON null', 'null'],
    ['nothing', ''],
  ])('reports a payload of %s as undecryptable', async (_case, plaintext) => {
    expect(await decryptError(opensslRequest(plaintext, current.key.publicKeyPem))).toEqual({
      type: 'undecryptable',
      reason: 'not_a_json_object',
    });
  });

  it('reports a payload that is not UTF-8 as undecryptable', async () => {
    const aesKey = randomBytes(16);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-gcm', aesKey, iv);
    const sealed = Buffer.concat([
      cipher.update(Buffer.from([0x7b, 0xff, 0x7d])),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    const body = withField(
      opensslRequest('{}', current.key.publicKeyPem, aesKey, iv),
      'encrypted_flow_data',
      sealed,
    );

    expect(await decryptError(body)).toEqual({ type: 'undecryptable', reason: 'not_a_json_object' });
  });
});

describe('decryptFlowResponse refusals', () => {
  it('reports a plain-text answer (a 421 body) as malformed', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));

    expect(
      (await decryptFlowResponse('421: could not decrypt', sealed.aesKey, sealed.iv))._unsafeUnwrapErr(),
    ).toEqual({
      type: 'malformed',
      reason: 'response is not base64',
    });
  });

  it('reports an answer encrypted with the request IV instead of the flipped one as undecryptable', async () => {
    const sealed = await encryptFlowRequest(dataExchange, await publicKeyOf(current));
    const decrypted = (await decryptFlowRequest(sealed.body, [current.key]))._unsafeUnwrap();
    const flippedTwice = Uint8Array.from(decrypted.iv, (byte) => byte ^ 0xff);
    const answer = await encryptFlowResponse({ data: {} }, decrypted.aesKey, flippedTwice);

    expect((await decryptFlowResponse(answer, sealed.aesKey, sealed.iv))._unsafeUnwrapErr()).toEqual({
      type: 'undecryptable',
      reason: 'authentication_failed',
    });
  });
});
