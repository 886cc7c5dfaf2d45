import { type Logger, maxWebhookBytes } from '@prestabot/application';
import { requestIdOf, type WebHandler } from '@prestabot/runtime';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request as ExpressRequest,
  type RequestHandler,
  type Router,
} from 'express';
import { requestIdHeader, unhandledErrorAnswer } from './http-answers.ts';
import type { PrometheusMetrics } from './metrics.ts';

/** The request's URL, or `undefined` when its `Host` header names no host. */
const urlOf = (req: ExpressRequest): string | undefined => {
  const url = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
  return URL.canParse(url) ? url : undefined;
};

/** Express's request as a Web `Request`, with the raw body bytes untouched (signatures cover them). */
const toWebRequest = (req: ExpressRequest, url: string, requestId: string): Request => {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  headers.set(requestIdHeader, requestId);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && Buffer.isBuffer(req.body);
  return new Request(url, {
    method: req.method,
    headers,
    ...(hasBody ? { body: new Uint8Array(req.body as Buffer) } : {}),
  });
};

const assignRequestId: RequestHandler = (req, res, next) => {
  const requestId = requestIdOf(req.get(requestIdHeader));
  res.locals.requestId = requestId;
  res.setHeader(requestIdHeader, requestId);
  next();
};

/** Raw bytes for every route: webhook signatures cover exactly what Meta sent. */
const rawBody = express.raw({ type: () => true, limit: maxWebhookBytes });

/** Answers the request with the Web-standard handler, its raw body passed on untouched. */
const answerWith =
  (handler: WebHandler): RequestHandler =>
  async (req, res) => {
    const requestId = res.locals.requestId as string;
    const url = urlOf(req);
    if (url === undefined) {
      res
        .status(400)
        .json({ error: 'bad_request', message: 'the Host header is not a valid host', requestId });
      return;
    }
    const response = await handler(toWebRequest(req, url, requestId));
    res.status(response.status);
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.end(Buffer.from(await response.arrayBuffer()));
  };

/**
 * PrestaBot inside an Express app of your own: `app.use('/whatsapp', prestaBotMiddleware(bot))` serves the
 * bot's routes (`/webhook`, `/flows`, `/healthz`, `/livez`) under that path, with request ids and the raw
 * body its signatures need. Mount it before any body parser of the app's.
 */
export const prestaBotMiddleware = (bot: { readonly fetch: WebHandler }): Router =>
  express.Router().use(assignRequestId, rawBody, answerWith(bot.fetch));

/**
 * The Node host's HTTP surface: the shared Web-standard handler for every route, plus `GET /metrics`,
 * request ids, a 3 MB body limit and a JSON error handler. `serve` puts `serveWebhooksDirectly` in front of
 * it, so the webhooks that reach it are the rare ones in a content encoding or in absolute form.
 */
export const createExpressApp = (options: {
  readonly handler: WebHandler;
  readonly metrics: PrometheusMetrics;
  readonly logger: Logger;
}): Express => {
  const { handler, metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  // Express hashes every answer's body into an ETag by default. Nothing the bot answers is worth a
  // conditional request (webhook and Flows answers to POSTs, health, metrics), and hashing the webhook's
  // answer cost about 3 % of the acknowledgement's throughput.
  app.set('etag', false);

  app.use(assignRequestId);

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.text());
  });

  app.use(rawBody, answerWith(handler));

  const jsonErrors: ErrorRequestHandler = (
    error: { type?: string; status?: number; message?: string },
    _req,
    res,
    _next,
  ) => {
    const requestId = res.locals.requestId as string | undefined;
    if (error.type === 'entity.too.large') {
      res.status(413).json({
        error: 'payload_too_large',
        message: `body exceeds the ${maxWebhookBytes}-byte limit`,
        requestId,
      });
      return;
    }
    if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
      res
        .status(error.status)
        .json({ error: 'bad_request', message: error.message ?? 'bad request', requestId });
      return;
    }
    const answer = unhandledErrorAnswer(logger, requestId, error);
    res.status(answer.status).json(answer.body);
  };
  app.use(jsonErrors);
  return app;
};
