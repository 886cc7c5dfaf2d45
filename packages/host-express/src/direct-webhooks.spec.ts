import { gzipSync } from 'node:zlib';
import { signWebhookBody } from '@prestabot/adapters-meta';
import { numberA, oneTextPayload } from '@prestabot/adapters-meta/testing';
import { maxWebhookBytes } from '@prestabot/application';
import { RecordingLogger } from '@prestabot/application/testing';
import { postInPieces } from '@prestabot/http-contract';
import type { WebhookDelivery, WebhookEndpoint } from '@prestabot/runtime';
import { describe, expect, it } from 'vitest';
import { serveWebhooksDirectly } from './direct-webhooks.ts';
import { appSecret, listenOnce, rawHttp, startNodeHost } from './node-host.fixture.ts';

const webhookBody = JSON.stringify(oneTextPayload(numberA));

/** `serveWebhooksDirectly` over a webhook endpoint that records what it receives; Express stands in as a 418. */
const startDirect = async (receive?: WebhookEndpoint['receive']) => {
  const received: WebhookDelivery[] = [];
  const tooLarge: number[] = [];
  const logger = new RecordingLogger();
  const webhook: WebhookEndpoint = {
    receive:
      receive ??
      (async (delivery) => {
        received.push({ ...delivery, body: new Uint8Array(delivery.body) });
        return { status: 200, body: { received: true } };
      }),
    tooLarge: (size) => {
      tooLarge.push(size);
      return { status: 413, body: { error: 'payload_too_large' } };
    },
  };
  const url = await listenOnce(
    serveWebhooksDirectly({ webhook, logger }, (_req, res) => {
      res.writeHead(418).end('express');
    }),
  );
  return { url, received, tooLarge, logger };
};

const signedPost = async (body: string): Promise<RequestInit> => {
  const bytes = new TextEncoder().encode(body);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': await signWebhookBody(bytes, appSecret),
    },
    body: bytes,
  };
};

describe('serveWebhooksDirectly', () => {
  it('answers each webhook as the Express app answers it, storing the same', async () => {
    const direct = await startNodeHost({ direct: true });
    const viaExpress = await startNodeHost();
    const requests: Record<string, RequestInit> = {
      'a signed message': await signedPost(webhookBody),
      'a wrong signature': {
        method: 'POST',
        headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
        body: webhookBody,
      },
      'no signature': { method: 'POST', body: webhookBody },
      'a signed body that is not JSON': await signedPost('{"object": '),
      'a signed payload of another object': await signedPost(JSON.stringify({ object: 'page', entry: [] })),
      'an empty body': { method: 'POST' },
    };
    for (const [name, init] of Object.entries(requests)) {
      const answers = await Promise.all(
        [direct, viaExpress].map(async ({ url }) => {
          const response = await fetch(`${url}/webhook`, {
            ...init,
            headers: { ...init.headers, 'x-request-id': `same-${name.length}` },
          });
          return {
            status: response.status,
            type: response.headers.get('content-type'),
            requestId: response.headers.get('x-request-id'),
            body: await response.json(),
          };
        }),
      );
      expect(answers[0], name).toEqual(answers[1]);
    }
    expect(direct.app.database.inboxEntries()).toHaveLength(1);
    expect(viaExpress.app.database.inboxEntries()).toHaveLength(1);
  });

  it('serves POST …/webhook under any prefix, passing the exact bytes, the signature and the request id', async () => {
    const { url, received } = await startDirect();
    const bytes = new TextEncoder().encode('{"entry":[{"text":"caf\\u00e9 \\/ x"}]}');
    for (const path of ['/webhook', '/functions/v1/bot/webhook/', '/webhook?hub.mode=x']) {
      const answer = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          'x-hub-signature-256': 'sha256=ab',
          'x-request-id': 'req-7',
          'content-encoding': 'identity',
        },
        body: bytes,
      });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.headers.get('x-request-id')).toBe('req-7');
      expect(await answer.json()).toEqual({ received: true });
    }
    expect(received).toEqual(
      Array.from({ length: 3 }, () => ({ body: bytes, signature: 'sha256=ab', requestId: 'req-7' })),
    );
    const replaced = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'x-request-id': 'evil id\twith spaces' },
      body: '{}',
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(received.at(-1)?.requestId).toBe(replaced.headers.get('x-request-id'));
  });

  it('leaves every other request to Express, and a body in a content encoding, which Express inflates', async () => {
    const { url, received } = await startDirect();
    const leftToExpress = [
      fetch(`${url}/webhook`),
      fetch(`${url}/flows`, { method: 'POST', body: '{}' }),
      fetch(`${url}/webhooks`, { method: 'POST', body: '{}' }),
      fetch(`${url}/webhook/status`, { method: 'POST', body: '{}' }),
      fetch(`${url}/webhook`, {
        method: 'POST',
        headers: { 'content-encoding': 'gzip' },
        body: gzipSync(webhookBody),
      }),
    ];
    for (const answer of await Promise.all(leftToExpress)) expect(answer.status).toBe(418);
    const absoluteForm = await rawHttp(
      url,
      `POST ${url}/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    expect(absoluteForm).toMatch(/^HTTP\/1\.1 418 /);
    expect(received).toEqual([]);
  });

  it('refuses a body over the limit with 413 once it is in, declared or streamed, so its sender reads the answer', async () => {
    const { url, received, tooLarge } = await startDirect();
    // 60 MB, several times: a server that answers while its client still sends, then closes, resets the connection
    // now and then rather than every time.
    const refusedSize = 20 * maxWebhookBytes;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const declared = await postInPieces(`${url}/webhook`, refusedSize);
      expect(declared).toEqual({ status: 413, body: { error: 'payload_too_large' } });
    }
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const streamed = await fetch(`${url}/webhook`, {
      method: 'POST',
      body: new ReadableStream({
        pull(controller) {
          if (sent >= 2 * maxWebhookBytes) {
            controller.close();
            return;
          }
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ error: 'payload_too_large' });

    expect(tooLarge.slice(0, 3)).toEqual([refusedSize, refusedSize, refusedSize]);
    expect(tooLarge[3]).toBeGreaterThan(maxWebhookBytes);
    expect(received).toEqual([]);
  });

  it('puts together a body sent in many small chunks, byte for byte', async () => {
    const { url, received } = await startDirect();
    const body = '{"entry":[{"text":"hola \\/ x"}]}'.repeat(20);
    const chunked = [...body].map((character) => `1\r\n${character}\r\n`).join('');
    const answer = await rawHttp(
      url,
      `POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}0\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(received.map((delivery) => new TextDecoder().decode(delivery.body))).toEqual([body]);
  });

  it('answers a bug on the way with a JSON 500 naming the request, logs it, and goes on serving', async () => {
    const bugs: Record<string, WebhookEndpoint['receive']> = {
      'a rejection': async () => {
        throw new Error('boom');
      },
      'a status Node cannot send': async () => ({ status: 1000, body: {} }),
      'a body JSON cannot hold': async () => ({ status: 200, body: { count: 1n } }),
    };
    for (const [name, receive] of Object.entries(bugs)) {
      const { url, logger } = await startDirect(receive);
      const failed = await fetch(`${url}/webhook`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-request-id': 'r-1' },
      });
      expect(failed.status, name).toBe(500);
      expect(await failed.json()).toEqual({ error: 'internal_error', requestId: 'r-1' });
      expect(logger.at('error').map((line) => line.fields)).toEqual([
        { requestId: 'r-1', error: expect.any(String) },
      ]);
    }
  });

  it('receives nothing from a client that hangs up mid-body, and goes on serving', async () => {
    const { url, received } = await startDirect();
    const cut = await rawHttp(
      url,
      'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"entry":',
      {
        hangUpAfterMs: 50,
      },
    );
    expect(cut).toBe('');
    const next = await fetch(`${url}/webhook`, { method: 'POST', body: '{}' });
    expect(next.status).toBe(200);
    expect(received.map((delivery) => new TextDecoder().decode(delivery.body))).toEqual(['{}']);
  });
});
