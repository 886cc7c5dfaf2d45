import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  decryptFlowRequest,
  encryptFlowResponse,
  type FlowPrivateKey,
  type GeneratedFlowKey,
  generateFlowKey,
  HmacSignatureVerifier,
  issueFlowToken,
  parseFlowRequest,
  verifyFlowToken,
} from '@prestabot/adapters-meta';
import { type JsonObject, parseContactId, parsePhoneNumberId, parseTenantId } from '@prestabot/domain';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeGraph, startFakeGraph } from '../fake-graph.ts';
import { FakeFlowsClient, type FakeFlowsClientOptions } from './fake-flows-client.ts';

const number = { phoneNumberId: '106540352242922', accessToken: 'EAAG-token-of-a' };
const tokenSecret = 'flow-token-secret';
const appSecret = 'app-secret-of-the-meta-app';

type EndpointSettings = {
  /** The private keys the endpoint holds right now (a rotation changes them). */
  keys: readonly FlowPrivateKey[];
  /** Checks `X-Hub-Signature-256` with this secret (432 on mismatch). */
  appSecret?: string;
  /** Changes one byte of every encrypted answer. */
  tamperAnswers?: boolean;
  /** Answers every request with this status and a plain body. */
  failWith?: number;
};

type Endpoint = {
  readonly url: string;
  readonly settings: EndpointSettings;
  /** The status of every answer, in order. */
  readonly statuses: number[];
  close(): Promise<void>;
};

type Answer = { readonly status: number; readonly body: string };

const verifier = new HmacSignatureVerifier();

/** A minimal Flows endpoint made of the adapters-meta building blocks, with the status codes Meta expects. */
const answer = async (
  rawBody: Uint8Array,
  signature: string | undefined,
  settings: EndpointSettings,
): Promise<Answer> => {
  if (settings.failWith !== undefined) return { status: settings.failWith, body: 'failing on purpose' };
  if (settings.appSecret !== undefined) {
    const signed = await verifier.verify(rawBody, signature, [{ secret: settings.appSecret }]);
    if (signed.isErr()) return { status: 432, body: signed.error.type };
  }
  const decrypted = await decryptFlowRequest(JSON.parse(new TextDecoder().decode(rawBody)), settings.keys);
  if (decrypted.isErr()) return { status: 421, body: decrypted.error.type };
  const { payload, aesKey, iv } = decrypted.value;
  const encrypted = async (status: number, response: JsonObject): Promise<Answer> => {
    const body = await encryptFlowResponse(response, aesKey, iv);
    return {
      status,
      body: settings.tamperAnswers
        ? `${body.slice(0, 4)}${body[4] === 'A' ? 'B' : 'A'}${body.slice(5)}`
        : body,
    };
  };
  const parsed = parseFlowRequest(payload);
  if (parsed.isErr()) return { status: 400, body: parsed.error.type };
  const flowRequest = parsed.value;
  if (flowRequest.type === 'ping') return encrypted(200, { data: { status: 'active' } });
  const token = await verifyFlowToken(flowRequest.flowToken, tokenSecret, new Date());
  if (token.isErr()) return encrypted(427, { error_msg: 'This form has expired. Ask for a new one.' });
  switch (flowRequest.type) {
    case 'init':
      return encrypted(200, { screen: 'PROFILE_FORM', data: { flow: token.value.flow } });
    case 'data_exchange':
      return encrypted(200, {
        screen: 'SUCCESS',
        data: {
          extension_message_response: { params: { flow_token: flowRequest.flowToken, ...flowRequest.data } },
        },
      });
    case 'back':
      return encrypted(200, { screen: flowRequest.screen ?? 'PROFILE_FORM', data: {} });
    case 'error_notification':
      return encrypted(200, { data: { acknowledged: true } });
  }
};

const startEndpoint = async (settings: EndpointSettings): Promise<Endpoint> => {
  const statuses: number[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const signature = incoming.headers['x-hub-signature-256'];
      const { status, body } = await answer(
        new Uint8Array(Buffer.concat(chunks)),
        typeof signature === 'string' ? signature : undefined,
        settings,
      );
      statuses.push(status);
      outgoing.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/flows`,
    settings,
    statuses,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

const claims = {
  tenantId: parseTenantId('0f8fad5b-d9cb-469f-a165-70867728950e')._unsafeUnwrap(),
  phoneNumberId: parsePhoneNumberId(number.phoneNumberId)._unsafeUnwrap(),
  contactId: parseContactId('7c9e6679-7425-40de-944b-e07fc1f90ae7')._unsafeUnwrap(),
  flow: 'profile',
  flowId: '1234567890123456',
};

const validToken = () =>
  issueFlowToken({ ...claims, expiresAt: new Date(Date.now() + 3600_000) }, tokenSecret);

let current: GeneratedFlowKey;
let next: GeneratedFlowKey;

beforeAll(async () => {
  [current, next] = await Promise.all([generateFlowKey(), generateFlowKey()]);
});

let endpoint: Endpoint;

afterEach(async () => {
  await endpoint.close();
});

const clientFor = (options: Partial<FakeFlowsClientOptions> = {}) =>
  new FakeFlowsClient({
    endpointUrl: endpoint.url,
    publicKeyPem: current.key.publicKeyPem,
    refetchPublicKey: () => Promise.reject(new Error('no re-fetch expected')),
    appSecret,
    ...options,
  });

describe('FakeFlowsClient', () => {
  it('pings: encrypted request, encrypted answer read with the flipped IV', async () => {
    endpoint = await startEndpoint({ keys: [current.key] });

    const exchange = await clientFor().ping();

    expect(exchange.status).toBe(200);
    expect(exchange.response).toEqual({ data: { status: 'active' } });
    expect(exchange.body).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('walks a Flow: INIT, data exchange, BACK and an error notification', async () => {
    endpoint = await startEndpoint({ keys: [current.key] });
    const client = clientFor();
    const flowToken = await validToken();

    expect((await client.init(flowToken)).response).toEqual({
      screen: 'PROFILE_FORM',
      data: { flow: 'profile' },
    });
    expect((await client.dataExchange(flowToken, 'PROFILE_FORM', { first_name: 'José' })).response).toEqual({
      screen: 'SUCCESS',
      data: { extension_message_response: { params: { flow_token: flowToken, first_name: 'José' } } },
    });
    expect((await client.back(flowToken, 'PROFILE_FORM')).response).toEqual({
      screen: 'PROFILE_FORM',
      data: {},
    });
    expect(
      (
        await client.errorNotification(flowToken, {
          action: 'INIT',
          error: 'invalid-screen',
          errorMessage: 'no',
        })
      ).response,
    ).toEqual({ data: { acknowledged: true } });
    expect(endpoint.statuses).toEqual([200, 200, 200, 200]);
  });

  it('returns a 427 as it is, its encrypted message readable, without re-fetching the key', async () => {
    endpoint = await startEndpoint({ keys: [current.key] });
    const expired = await issueFlowToken({ ...claims, expiresAt: new Date(Date.now() - 1) }, tokenSecret);

    const exchange = await clientFor().init(expired);

    expect(exchange.status).toBe(427);
    expect(exchange.response).toEqual({ error_msg: 'This form has expired. Ask for a new one.' });
    expect(endpoint.statuses).toEqual([427]);
  });

  it.each([500, 400, 404])('returns a plain %i as it is, without a retry', async (status) => {
    endpoint = await startEndpoint({ keys: [current.key], failWith: status });

    expect(await clientFor().ping()).toEqual({ status, response: undefined, body: 'failing on purpose' });
    expect(endpoint.statuses).toEqual([status]);
  });

  it('reports an answer changed on the way as not decryptable', async () => {
    endpoint = await startEndpoint({ keys: [current.key], tamperAnswers: true });

    const exchange = await clientFor().ping();

    expect(exchange.status).toBe(200);
    expect(exchange.response).toBeUndefined();
  });

  it('signs every request with its app secret, as Meta does', async () => {
    endpoint = await startEndpoint({ keys: [current.key], appSecret });

    expect((await clientFor().ping()).status).toBe(200);
    expect((await clientFor({ appSecret: 'another-secret' }).ping()).status).toBe(432);
    expect(endpoint.statuses).toEqual([200, 432]);
  });

  it('on 421 re-fetches the key once and retries once, then returns the 421', async () => {
    endpoint = await startEndpoint({ keys: [next.key] });
    const refetchPublicKey = vi.fn(async () => current.key.publicKeyPem);

    const exchange = await clientFor({ refetchPublicKey }).ping();

    expect(exchange).toEqual({ status: 421, response: undefined, body: 'undecryptable' });
    expect(refetchPublicKey).toHaveBeenCalledTimes(1);
    expect(endpoint.statuses).toEqual([421, 421]);
  });
});

describe('FakeFlowsClient with the key registered at the fake Graph API', () => {
  let fake: FakeGraph;

  afterEach(async () => {
    await fake.close();
  });

  const register = async (publicKeyPem: string) => {
    const answer = await request(`${fake.url}/v24.0/${number.phoneNumberId}/whatsapp_business_encryption`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${number.accessToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ business_public_key: publicKeyPem }).toString(),
    });
    expect(await answer.body.json()).toEqual({ success: true });
  };

  it('after a key rotation, recovers from the 421 with the newly registered key', async () => {
    fake = await startFakeGraph({ numbers: [number] });
    await register(current.key.publicKeyPem);
    endpoint = await startEndpoint({ keys: [current.key] });
    const refetchPublicKey = vi.fn(async () => fake.businessPublicKey(number.phoneNumberId)!);
    const client = clientFor({
      publicKeyPem: fake.businessPublicKey(number.phoneNumberId)!,
      refetchPublicKey,
    });
    expect((await client.ping()).status).toBe(200);

    // The business rotates: a new key at Meta, the old one retired at the endpoint.
    await register(next.key.publicKeyPem);
    endpoint.settings.keys = [next.key];
    const afterRotation = await client.ping();
    const later = await client.ping();

    expect(afterRotation).toMatchObject({ status: 200, response: { data: { status: 'active' } } });
    expect(later.status).toBe(200);
    expect(refetchPublicKey).toHaveBeenCalledTimes(1);
    expect(endpoint.statuses).toEqual([200, 421, 200, 200]);
  });
});
