import { HmacSignatureVerifier, signWebhookBody, ZodWebhookParser } from '@prestabot/adapters-meta';
import { numberA, oneTextPayload } from '@prestabot/adapters-meta/testing';
import type { IngestWebhookOutput } from '@prestabot/application';
import { createInMemoryApp } from '@prestabot/application/testing';
import { describe, expect, it } from 'vitest';
import { createWebHandler, createWebhookEndpoint, type HealthReport } from './web-handler.ts';

const appSecret = 'app-secret-for-handler-tests';
const verifyToken = 'verify-me-please';

const setup = (health: HealthReport = { healthy: true, checks: { database: 'ok' } }) => {
  const app = createInMemoryApp({
    verifier: new HmacSignatureVerifier(),
    parser: new ZodWebhookParser(),
    deploymentAppSecret: appSecret,
  });
  const ingested: IngestWebhookOutput[] = [];
  const handler = createWebHandler({
    webhook: createWebhookEndpoint({
      ingestWebhook: app.ingestWebhook,
      logger: app.logger,
      metrics: app.metrics,
      afterIngest: (output) => ingested.push(output),
    }),
    verifyToken,
    logger: app.logger,
    metrics: app.metrics,
    checkHealth: async () => health,
  });
  return { app, handler, ingested };
};

const post = async (body: string, signature?: string, headers: Record<string, string> = {}) =>
  new Request('http://bot.test/webhook', {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
      ...headers,
    },
  });

const signed = async (value: unknown) => {
  const body = JSON.stringify(value);
  return post(body, await signWebhookBody(new TextEncoder().encode(body), appSecret));
};

describe('web handler', () => {
  it('answers the verification handshake with the raw challenge, and 403 otherwise', async () => {
    const { handler, app } = setup();
    const ok = await handler(
      new Request(
        `http://bot.test/webhook?hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=1158201444`,
      ),
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await handler(
      new Request('http://bot.test/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1'),
    );
    expect(wrong.status).toBe(403);
    expect(JSON.stringify(app.logger.lines)).not.toContain(verifyToken);
  });

  it('stores a signed delivery, answers 200, and hands it on for processing', async () => {
    const { handler, app, ingested } = setup();
    await app.addTenant(numberA.phoneNumberId, 'token-a');
    const response = await handler(await signed(oneTextPayload(numberA)));
    expect(response.status).toBe(200);
    expect(ingested).toEqual([
      {
        held: [],
        stored: 1,
        duplicates: 0,
        unknownNumbers: [],
        rejected: 0,
        quarantined: 0,
        stale: 0,
      },
    ]);
    expect(app.database.inboxEntries().length).toBe(1);
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('serves the same routes under a path prefix, as Supabase does', async () => {
    const { handler, app } = setup();
    await app.addTenant(numberA.phoneNumberId, 'token-a');
    const request = await signed(oneTextPayload(numberA));
    const prefixed = new Request('http://bot.test/functions/v1/prestabot/webhook', {
      method: 'POST',
      body: await request.text(),
      headers: request.headers,
    });
    expect((await handler(prefixed)).status).toBe(200);
    expect((await handler(new Request('http://bot.test/functions/v1/prestabot/healthz'))).status).toBe(200);
  });

  it('refuses what it must, with the status Meta and operators expect, storing nothing', async () => {
    const { handler, app } = setup();
    await app.addTenant(numberA.phoneNumberId, 'token-a');
    const body = JSON.stringify(oneTextPayload(numberA));
    expect((await handler(await post(body))).status).toBe(401);
    expect((await handler(await post(body, 'sha256=deadbeef'))).status).toBe(401);
    expect((await handler(await post(body, `sha256=${'0'.repeat(64)}`))).status).toBe(401);
    const notJson = 'not json';
    expect(
      (
        await handler(
          await post(notJson, await signWebhookBody(new TextEncoder().encode(notJson), appSecret)),
        )
      ).status,
    ).toBe(400);
    const wrongObject = { object: 'page', entry: [] };
    expect((await handler(await signed(wrongObject))).status).toBe(400);
    const oversize = await handler(
      await post('x', undefined, { 'content-length': String(3 * 1024 * 1024 + 1) }),
    );
    expect(oversize.status).toBe(413);
    expect(await oversize.json()).toMatchObject({ error: 'payload_too_large' });
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it('refuses a body that turns out larger than 3 MB while streaming', async () => {
    const { handler } = setup();
    const big = 'x'.repeat(3 * 1024 * 1024 + 10);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await handler(
      new Request('http://bot.test/webhook', { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
    );
    expect(response.status).toBe(413);
  });

  it('answers 503 when the database is down, so Meta retries', async () => {
    const { handler, app } = setup();
    await app.addTenant(numberA.phoneNumberId, 'token-a');
    app.database.setUnavailable(true);
    const response = await handler(await signed(oneTextPayload(numberA)));
    expect(response.status).toBe(503);
    app.database.setUnavailable(false);
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it('acknowledges unknown numbers with 200, storing nothing', async () => {
    const { handler, app } = setup();
    const response = await handler(
      await signed(oneTextPayload({ phoneNumberId: '999999999999', displayPhoneNumber: '15550009999' })),
    );
    expect(response.status).toBe(200);
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it('reports health, answers 501 for Flows until configured, 404/405 elsewhere', async () => {
    const detail = 'connect ECONNREFUSED 10.0.0.5:5432 for user prestabot_app';
    const unhealthy = setup({ healthy: false, checks: { database: detail } });
    const health = await unhealthy.handler(new Request('http://bot.test/healthz'));
    expect(health.status).toBe(503);
    // The database's own words stay in the log, for the operator, not in an unauthenticated answer.
    expect(await health.json()).toEqual({ status: 'unhealthy', checks: { database: 'failing' } });
    expect(
      unhealthy.app.logger.at('warn').find((line) => line.message.includes('unhealthy'))?.fields,
    ).toMatchObject({ checks: { database: detail } });
    // Liveness asks nothing of the database: a process whose database is down is not restarted for it.
    const live = await unhealthy.handler(new Request('http://bot.test/functions/v1/prestabot/livez'));
    expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    expect((await unhealthy.handler(new Request('http://bot.test/livez', { method: 'POST' }))).status).toBe(
      405,
    );
    const { handler } = setup();
    expect((await handler(new Request('http://bot.test/flows', { method: 'POST', body: '{}' }))).status).toBe(
      501,
    );
    expect((await handler(new Request('http://bot.test/nope'))).status).toBe(404);
    expect((await handler(new Request('http://bot.test/webhook', { method: 'DELETE' }))).status).toBe(405);
  });

  it.each([
    ['kept when it is short and plain', 'req-42.a_b:7', 'req-42.a_b:7'],
    ['replaced when it has other characters', 'evil id\twith <spaces>', undefined],
    ['replaced when it is longer than 128 characters', 'a'.repeat(129), undefined],
    ['replaced when it is empty', '', undefined],
  ])('answers with the incoming request id %s', async (_case, incoming, kept) => {
    const { handler, app } = setup();
    const response = await handler(
      new Request('http://bot.test/nope', { headers: { 'x-request-id': incoming } }),
    );
    const requestId = response.headers.get('x-request-id');
    if (kept === undefined) expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    else expect(requestId).toBe(kept);
    expect(JSON.stringify(app.logger.lines)).not.toContain('<spaces>');
  });
});
