import { signWebhookBody } from '@prestabot/adapters-meta';
import { numberA, oneTextPayload } from '@prestabot/adapters-meta/testing';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { prestaBotMiddleware } from './express-app.ts';
import { appSecret, listenOnce, rawHttp, startNodeHost as start } from './node-host.fixture.ts';

const webhookBody = JSON.stringify(oneTextPayload(numberA));

describe('the Express host', () => {
  it('serves Prometheus text at /metrics, counting what the handler did', async () => {
    const { url } = await start();
    const bytes = new TextEncoder().encode(webhookBody);
    const posted = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signWebhookBody(bytes, appSecret),
      },
      body: bytes,
    });
    expect(posted.status).toBe(200);
    // Nothing the bot answers is worth a conditional request: no ETag is computed for it.
    expect(posted.headers.get('etag')).toBeNull();
    const scraped = await fetch(`${url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('etag')).toBeNull();
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await scraped.text();
    expect(text).toContain('# TYPE prestabot_webhook_requests_total counter');
    expect(text).toMatch(/^prestabot_webhook_requests_total\{outcome="accepted"\} 1$/m);
    expect(text).toContain('prestabot_process_cpu_user_seconds_total');
  });

  it('keeps a well-formed request id, replaces any other, and answers with it', async () => {
    const { url } = await start();
    const kept = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'req-42.a_b:7' } });
    expect(kept.headers.get('x-request-id')).toBe('req-42.a_b:7');
    const replaced = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'evil id\twith spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a body over 3 MB with 413 in JSON, storing nothing', async () => {
    const { app, url } = await start();
    const refused = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' },
      body: 'x'.repeat(3 * 1024 * 1024 + 1),
    });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: 'payload_too_large', requestId: expect.any(String) });
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it('answers a bug in the handler with a JSON 500 naming the request, and logs it', async () => {
    const { app, url } = await start({
      webhook: {
        receive: async () => {
          throw new Error('boom');
        },
        tooLarge: () => ({ status: 413, body: {} }),
      },
    });
    const failed = await fetch(`${url}/webhook`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'r-1' },
    });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: 'internal_error', requestId: 'r-1' });
    expect(app.logger.lines.find((line) => line.level === 'error')?.fields).toMatchObject({
      requestId: 'r-1',
    });
  });

  it('answers a Host header that is no host with a JSON 400, logging no error', async () => {
    const { app, url } = await start();
    const answer = await rawHttp(
      url,
      'GET /healthz HTTP/1.1\r\nHost: bot example^\r\nConnection: close\r\n\r\n',
    );
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toMatchObject({ error: 'bad_request', requestId: expect.any(String) });
    expect(body).not.toContain('    at ');
    expect(app.logger.at('error')).toEqual([]);
  });
});

describe('prestaBotMiddleware', () => {
  it("serves the bot under a path of the app's, passing the exact body bytes and the response through", async () => {
    const seen: { url: string; body: string; requestId: string | null }[] = [];
    const bot = {
      fetch: async (request: Request) => {
        seen.push({
          url: request.url,
          body: await request.text(),
          requestId: request.headers.get('x-request-id'),
        });
        return new Response('{"ok":true}', { status: 202, headers: { 'x-answered-by': 'bot' } });
      },
    };
    const app = express();
    app.use('/whatsapp', prestaBotMiddleware(bot));
    app.get('/', (_req, res) => {
      res.send('my app');
    });
    const url = await listenOnce(app);

    const body = '{"entry":[{"text":"caf\\u00e9 \\/ x"}]}';
    const answer = await fetch(`${url}/whatsapp/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
      body,
    });

    expect(answer.status).toBe(202);
    expect(answer.headers.get('x-answered-by')).toBe('bot');
    expect(await answer.json()).toEqual({ ok: true });
    expect(seen).toEqual([{ url: `${url}/whatsapp/webhook`, body, requestId: 'req-1' }]);
    expect(await (await fetch(`${url}/`)).text()).toBe('my app');
    expect(seen).toHaveLength(1);
  });
});
