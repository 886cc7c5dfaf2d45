import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpenBot } from '@prestabot/runtime';
import express from 'express';
import { serveWebhooksDirectly } from './direct-webhooks.ts';
import { createExpressApp } from './express-app.ts';
import type { PrometheusMetrics } from './metrics.ts';

export type RunningServer = {
  readonly url: string;
  /** Stops accepting, lets requests in progress finish, stops the workers (finishing leased work), closes pools. */
  readonly stop: () => Promise<void>;
};

const listen = (server: Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** Serves the bot's HTTP routes and, unless told otherwise, runs its workers in the same process. */
export const startServer = async (
  nodeBot: OpenBot & { readonly metrics: PrometheusMetrics },
  options: { readonly port: number; readonly worker: boolean },
): Promise<RunningServer> => {
  const app = createExpressApp({
    handler: nodeBot.bot.handler,
    metrics: nodeBot.metrics,
    logger: nodeBot.logger,
  });
  const http = createServer(
    serveWebhooksDirectly({ webhook: nodeBot.bot.webhook, logger: nodeBot.logger }, app),
  );
  await listen(http, options.port);
  if (options.worker) nodeBot.bot.startWorkers();
  const { port } = http.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  nodeBot.logger.info(
    { url, worker: options.worker, driver: nodeBot.storage.driver },
    `PrestaBot listening on ${url}`,
  );
  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await closed;
        await nodeBot.close();
      })();
      return stopping;
    },
  };
};

/**
 * What a `worker` serves when given a port: its metrics, its readiness and its liveness, for a scraper and an
 * orchestrator's probes. Nothing else: webhooks go to `serve`.
 */
export const startProbeServer = async (
  nodeBot: OpenBot & { readonly metrics: PrometheusMetrics },
  port: number,
): Promise<RunningServer> => {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.type(nodeBot.metrics.registry.contentType).send(await nodeBot.metrics.text());
  });
  app.get(['/healthz', '/livez'], async (req, res) => {
    const response = await nodeBot.bot.handler(new Request(`http://worker${req.path}`));
    res
      .status(response.status)
      .type('application/json')
      .send(await response.text());
  });
  app.use((_req, res) => {
    res.status(404).json({
      error: 'not_found',
      message: 'a worker serves GET /metrics, GET /healthz and GET /livez only',
    });
  });
  const http = createServer(app);
  await listen(http, port);
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  nodeBot.logger.info({ url }, `worker probes listening on ${url}`);
  return {
    url,
    stop: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
};

/**
 * Runs `stop` once on SIGINT or SIGTERM, then `onStopped`. If stopping takes longer than `deadlineMs`
 * (a send or a database call that hangs), `onDeadline` runs instead: an orchestrator kills a process that
 * does not stop in time anyway, and unfinished work is leased, so another process picks it up.
 */
export const stopOnSignals = (
  stop: () => Promise<void>,
  onStopped: (signal: string) => void,
  deadline?: { readonly ms: number; readonly onDeadline: (signal: string) => void },
  signals: Pick<NodeJS.EventEmitter, 'once'> = process,
): void => {
  const handle = (signal: NodeJS.Signals) => {
    const timer =
      deadline === undefined ? undefined : setTimeout(() => deadline.onDeadline(signal), deadline.ms);
    timer?.unref();
    void stop().then(() => {
      clearTimeout(timer);
      onStopped(signal);
    });
  };
  signals.once('SIGINT', handle);
  signals.once('SIGTERM', handle);
};
