import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphBusinessEncryption,
  GraphClient,
  type GraphClientOptions,
  parseGraphApiConfig,
  UndiciGraphGateway,
} from '@prestabot/adapters-meta';
import type { SendRequest } from '@prestabot/application';
import {
  describeMessagingGatewayContract,
  everyMessageType,
  expectErr,
  expectOk,
} from '@prestabot/application/testing';
import type { E164, PhoneNumberId, Wamid } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGraph, startFakeGraph } from './fake-graph.ts';

const number = { phoneNumberId: '106540352242922' as PhoneNumberId, accessToken: 'EAAG-number-a-token' };
const text = everyMessageType[0]!;
const recipient = { phone: '+56911112222' as E164 };

const clientFor = (baseUrl: string, options: GraphClientOptions = {}) =>
  new GraphClient(parseGraphApiConfig({ baseUrl })._unsafeUnwrap(), { requestTimeoutMs: 5000, ...options });

describeMessagingGatewayContract('undici gateway → fake Graph', async () => {
  const fake = await startFakeGraph({ numbers: [number] });
  const gateway = new UndiciGraphGateway(clientFor(fake.url));
  return {
    gateway,
    number,
    failNext: ({ code, title, retryAfterSeconds }) =>
      fake.failNext(number.phoneNumberId, {
        code,
        ...defined({ title }),
        ...defined({ retryAfterSeconds }),
      }),
    dropNext: () => fake.dropNext(number.phoneNumberId),
    accepted: async () => fake.accepted(number.phoneNumberId),
    close: async () => {
      await gateway.close();
      await fake.close();
    },
  };
});

describe('UndiciGraphGateway', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const withFake = async (
    options: Parameters<typeof startFakeGraph>[0] = {},
    client: GraphClientOptions = {},
  ) => {
    const fake = await startFakeGraph({ numbers: [number], ...options });
    const gateway = new UndiciGraphGateway(clientFor(fake.url, client));
    cleanups.push(
      () => fake.close(),
      () => gateway.close(),
    );
    return { fake, gateway };
  };

  /** A server that answers every request the same raw way, for answers the fake never gives. */
  const rawGraph = async (status: number, body: string, headers: Record<string, string> = {}) => {
    const server: Server = createServer((_request, response) => {
      response.writeHead(status, headers);
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gateway = new UndiciGraphGateway(
      clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
    cleanups.push(
      () => new Promise((resolve) => server.close(() => resolve())),
      () => gateway.close(),
    );
    return gateway;
  };

  const request = (overrides: Partial<SendRequest> = {}): SendRequest => ({
    ...number,
    recipient,
    message: text,
    ...overrides,
  });

  it('sends as the number, in the configured version, with the callback data and the quoted message', async () => {
    const { fake, gateway } = await withFake();
    const replyTo = 'wamid.HBgLNTY5MTExMTIyMjIVAgARGBI=' as Wamid;
    const accepted = await expectOk(gateway.send(request({ replyTo, callbackData: 'outbox-42' })));
    expect(fake.accepted(number.phoneNumberId)).toEqual([
      expect.objectContaining({
        wamid: accepted.wamid,
        version: 'v24.0',
        message: text,
        recipient,
        replyTo,
        callbackData: 'outbox-42',
      }),
    ]);
  });

  it('reports an expired token (190, subcode 463) as an invalid token', async () => {
    const { fake, gateway } = await withFake();
    fake.expireToken(number.phoneNumberId);
    expect(await expectErr(gateway.send(request()))).toMatchObject({
      type: 'send_token_invalid',
      code: 190,
      title: 'Error validating access token: Session has expired',
    });
  });

  it("keys on Meta's code whatever the HTTP status: 130429 answered with 400 is still throttling", async () => {
    const { fake, gateway } = await withFake({ throttlingHttpStatus: 400 });
    fake.failNext(number.phoneNumberId, { code: 130429, httpStatus: 400 });
    expect(await expectErr(gateway.send(request()))).toMatchObject({ type: 'send_retryable', code: 130429 });
  });

  it('passes the details Graph gives for a rejected message', async () => {
    const { gateway } = await withFake();
    const failure = await expectErr(
      gateway.send(request({ message: { type: 'text', body: 'x'.repeat(4097), previewUrl: false } })),
    );
    expect(failure).toMatchObject({
      type: 'send_rejected',
      code: 100,
      title: 'Invalid parameter',
      details: 'body must have at most 4096 characters (has 4097)',
    });
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const inTenSeconds = new Date(Date.now() + 10_000);
    const gateway = await rawGraph(
      429,
      JSON.stringify({
        error: { code: 130429, message: '(#130429) Rate limit hit', type: 'OAuthException' },
      }),
      { 'retry-after': inTenSeconds.toUTCString(), 'content-type': 'application/json' },
    );
    const failure = await expectErr(gateway.send(request()));
    expect(failure).toMatchObject({ type: 'send_retryable', code: 130429 });
    const retryAfterMs = failure.type === 'send_retryable' ? failure.retryAfterMs : undefined;
    expect(retryAfterMs).toBeGreaterThan(8000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
  });

  it.each([
    ['a 502 page from a proxy', 502, '<html>Bad Gateway</html>'],
    ['a 500 with an empty body', 500, ''],
    ['a 404 without a Graph error', 404, '{"message":"not found"}'],
  ])('treats %s, which has no Graph code, as retryable', async (_case, status, body) => {
    const gateway = await rawGraph(status, body);
    expect(await expectErr(gateway.send(request()))).toEqual({
      type: 'send_retryable',
      title: `Graph answered HTTP ${status} without an error code`,
    });
  });

  it('treats a 200 that names no message as unconfirmed, hence retryable once its status had time to come', async () => {
    const gateway = await rawGraph(200, '{"messaging_product":"whatsapp","contacts":[],"messages":[]}');
    expect(await expectErr(gateway.send(request()))).toEqual({
      type: 'send_retryable',
      title: 'Graph answered without a message id',
      outcomeUnknown: true,
    });
  });

  it('treats a mark-as-read answered without success as unconfirmed', async () => {
    const gateway = await rawGraph(200, '{"success":false}');
    const markRead = everyMessageType.find((message) => message.type === 'mark_read')!;
    expect((await expectErr(gateway.send(request({ message: markRead })))).type).toBe('send_retryable');
  });

  it('gives up on a slow answer after the request timeout, as retryable', async () => {
    const { fake, gateway } = await withFake({}, { requestTimeoutMs: 100 });
    fake.setFaults({ latencyMs: 1000 }, number.phoneNumberId);
    const started = performance.now();
    expect(await expectErr(gateway.send(request()))).toEqual({
      type: 'send_retryable',
      title: 'Graph did not answer in time',
      outcomeUnknown: true,
    });
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('gives up when the request must be answered by, sooner than the request timeout (its lease ends)', async () => {
    const { fake, gateway } = await withFake({}, { requestTimeoutMs: 5000 });
    fake.setFaults({ latencyMs: 1500 }, number.phoneNumberId);
    const started = performance.now();
    expect(await expectErr(gateway.send(request({ answerBy: new Date(Date.now() + 200) })))).toEqual({
      type: 'send_retryable',
      title: 'Graph did not answer in time',
      outcomeUnknown: true,
    });
    expect(performance.now() - started).toBeLessThan(1200);
  });

  it('treats a refused connection as retryable, and as never having reached Graph', async () => {
    const { fake, gateway } = await withFake();
    await fake.close();
    const failure = await expectErr(gateway.send(request()));
    expect(failure).toMatchObject({ type: 'send_retryable' });
    expect(failure).not.toHaveProperty('outcomeUnknown');
  });

  it('tells a connection lost after the request went out, or an accepted send whose answer was lost, as an unknown outcome', async () => {
    const { fake, gateway } = await withFake();
    fake.setFaults({ lostAnswerRate: 1 }, number.phoneNumberId);
    expect(await expectErr(gateway.send(request()))).toMatchObject({
      type: 'send_retryable',
      outcomeUnknown: true,
    });
    expect(fake.stats(number.phoneNumberId).accepted).toBe(1);
  });

  it('keeps secrets out of failures', async () => {
    const { fake, gateway } = await withFake();
    fake.dropNext(number.phoneNumberId);
    const failures = [
      await expectErr(gateway.send(request())),
      await expectErr(gateway.send(request({ accessToken: 'EAAG-wrong-token-value' }))),
    ];
    expect(JSON.stringify(failures)).not.toMatch(/EAAG/);
  });

  it('sends over a few kept-alive connections, many messages at once', async () => {
    const { fake, gateway } = await withFake({ pairLimit: false }, { connections: 4 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        gateway.send(request({ recipient: { phone: `+5691000${String(index).padStart(4, '0')}` as E164 } })),
      ),
    );
    expect(results.every((result) => result.isOk())).toBe(true);
    expect(fake.stats(number.phoneNumberId).accepted).toBe(60);
  });

  it('fails calls after close() released its connections', async () => {
    const { gateway } = await withFake();
    await gateway.close();
    expect((await expectErr(gateway.send(request()))).type).toBe('send_retryable');
  });
});

describe('GraphBusinessEncryption', () => {
  let fake: FakeGraph;
  let client: GraphClient;
  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  const publicKey =
    '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n';

  it("uploads a number's Flows public key and reads it back", async () => {
    fake = await startFakeGraph({ numbers: [number] });
    client = clientFor(fake.url);
    const encryption = new GraphBusinessEncryption(client);
    expect(await expectOk(encryption.current(number.phoneNumberId, number.accessToken))).toBeUndefined();
    await expectOk(encryption.register(number.phoneNumberId, number.accessToken, publicKey));
    expect(fake.businessPublicKey(number.phoneNumberId)).toBe(publicKey);
    expect(await expectOk(encryption.current(number.phoneNumberId, number.accessToken))).toEqual({
      publicKey,
      signatureStatus: 'VALID',
    });
  });

  it("is refused with another number's token, as an invalid token", async () => {
    fake = await startFakeGraph({ numbers: [number] });
    client = clientFor(fake.url);
    const encryption = new GraphBusinessEncryption(client);
    expect(await expectErr(encryption.register(number.phoneNumberId, 'EAAG-other', publicKey))).toMatchObject(
      {
        type: 'send_token_invalid',
        code: 190,
      },
    );
  });
});
