import { createServer, type RequestListener } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { HmacSignatureVerifier, ZodWebhookParser } from '@prestabot/adapters-meta';
import { numberA } from '@prestabot/adapters-meta/testing';
import { createInMemoryApp } from '@prestabot/application/testing';
import { createWebHandler, createWebhookEndpoint, type WebhookEndpoint } from '@prestabot/runtime';
import { afterEach } from 'vitest';
import { serveWebhooksDirectly } from './direct-webhooks.ts';
import { createExpressApp } from './express-app.ts';
import { PrometheusMetrics } from './metrics.ts';

export const appSecret = 'express-app-secret';

const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** Listens on a free loopback port until the test ends; resolves with the base URL. */
export const listenOnce = async (listener: RequestListener): Promise<string> => {
  const server = createServer(listener).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/**
 * The Node host in-process on a free port, over in-memory storage: the Express app alone, or with
 * `serveWebhooksDirectly` in front of it as `serve` runs it.
 */
export const startNodeHost = async (
  options: { readonly webhook?: WebhookEndpoint; readonly direct?: boolean } = {},
) => {
  const app = createInMemoryApp({
    verifier: new HmacSignatureVerifier(),
    parser: new ZodWebhookParser(),
    deploymentAppSecret: appSecret,
  });
  await app.addTenant(numberA.phoneNumberId, 'token-a');
  const metrics = new PrometheusMetrics();
  const webhook =
    options.webhook ??
    createWebhookEndpoint({
      ingestWebhook: app.ingestWebhook,
      logger: app.logger,
      metrics,
      afterIngest: () => undefined,
    });
  const handler = createWebHandler({
    webhook,
    verifyToken: 'verify',
    logger: app.logger,
    metrics,
    checkHealth: async () => ({ healthy: true, checks: { database: 'ok' } }),
  });
  const express = createExpressApp({ handler, metrics, logger: app.logger });
  const url = await listenOnce(
    options.direct === true ? serveWebhooksDirectly({ webhook, logger: app.logger }, express) : express,
  );
  return { app, url, metrics };
};

/**
 * Sends bytes as they are, which fetch would not (it checks the Host and the framing it is given), and reads
 * until the server closes the connection (or we hang up).
 */
export const rawHttp = (
  url: string,
  request: string | Buffer,
  options: { readonly hangUpAfterMs?: number } = {},
) =>
  new Promise<string>((resolve, reject) => {
    const { port } = new URL(url);
    let received = '';
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    if (options.hangUpAfterMs !== undefined) setTimeout(() => socket.destroy(), options.hangUpAfterMs);
  });
