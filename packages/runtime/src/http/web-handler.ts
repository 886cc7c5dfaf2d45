import { verifySubscription } from '@prestabot/adapters-meta';
import {
  type IngestWebhook,
  type IngestWebhookError,
  type IngestWebhookOutput,
  type Logger,
  type Metrics,
  maxWebhookBytes,
} from '@prestabot/application';
import { readBodyUpTo } from './read-body.ts';
import { json, messageOfIngestError, statusOfIngestError, text } from './responses.ts';

/** Each check's `ok`, or what failed: the detail is logged, and the answer only says `failing`. */
export type HealthReport = { readonly healthy: boolean; readonly checks: Readonly<Record<string, string>> };

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id a request is logged and answered with: the caller's `X-Request-Id` when it is at most 128 plain
 * characters (it lands in logs and headers), a new UUID otherwise. Both hosts go through it.
 */
export const requestIdOf = (incoming: string | null | undefined): string =>
  incoming !== null && incoming !== undefined && requestIdPattern.test(incoming)
    ? incoming
    : crypto.randomUUID();

export type WebhookEndpointDependencies = {
  readonly ingestWebhook: IngestWebhook;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Called once a delivery is durably in the inbox, before the response goes out: start processing it
   * (in-process on Node, with the runtime's `waitUntil` at the edge). Must not block the response.
   */
  readonly afterIngest: (output: IngestWebhookOutput, requestId: string) => void;
};

export type WebHandlerDependencies = {
  readonly webhook: WebhookEndpoint;
  /** `WHATSAPP_VERIFY_TOKEN`; without it every verification is refused. */
  readonly verifyToken: string | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly checkHealth: () => Promise<HealthReport>;
  /** The WhatsApp Flows data-exchange endpoint; answers 501 until configured. */
  readonly flows?: (request: Request) => Promise<Response>;
};

export type WebHandler = (request: Request) => Promise<Response>;

/** A webhook POST as its bytes: what the Node host hands over without building a Web `Request`. */
export type WebhookDelivery = {
  readonly body: Uint8Array;
  readonly signature: string | undefined;
  readonly requestId: string;
};

/** The answer to a webhook POST: a status and a JSON body. */
export type WebhookAnswer = { readonly status: number; readonly body: Readonly<Record<string, unknown>> };

/**
 * `POST /webhook`, the hot route: verified, stored, answered. The Web handler serves it from a `Request`;
 * the Node host calls it straight from the bytes `node:http` read, which saves building a `Request` and a
 * `Response` per webhook (about 60 µs, a third of the whole answer).
 */
export type WebhookEndpoint = {
  readonly receive: (delivery: WebhookDelivery) => Promise<WebhookAnswer>;
  /** The answer to a body over the limit, which is never read in full. */
  readonly tooLarge: (size: number, requestId: string) => WebhookAnswer;
};

export const createWebhookEndpoint = (deps: WebhookEndpointDependencies): WebhookEndpoint => {
  const refuse = (error: IngestWebhookError, requestId: string): WebhookAnswer => {
    const status = statusOfIngestError(error);
    deps.metrics.increment('webhook_requests_total', { outcome: error.type });
    const fields = {
      requestId,
      status,
      error: error.type,
      ...(error.type === 'storage_error' ? { reason: error.reason } : {}),
    };
    deps.logger[status >= 500 ? 'error' : 'warn'](fields, `webhook refused: ${messageOfIngestError(error)}`);
    return { status, body: { error: error.type, message: messageOfIngestError(error) } };
  };
  return {
    receive: async ({ body, signature, requestId }) => {
      const result = await deps.ingestWebhook.execute({ rawBody: body, signature });
      if (result.isErr()) return refuse(result.error, requestId);
      deps.metrics.increment('webhook_requests_total', { outcome: 'accepted' });
      deps.afterIngest(result.value, requestId);
      return { status: 200, body: { received: true } };
    },
    tooLarge: (size, requestId) =>
      refuse({ type: 'payload_too_large', size, limit: maxWebhookBytes }, requestId),
  };
};

/** A request's route: the last segment of its path, so routes work under any prefix. */
export const routeOf = (pathname: string): string | undefined =>
  pathname.replace(/\/+$/, '').split('/').at(-1);

/**
 * The one request handler both hosts serve, Web-standard `Request → Response`. Routes are matched on the
 * last path segment, so it works under any prefix (Supabase serves functions at `/functions/v1/<name>/…`).
 */
export const createWebHandler = (deps: WebHandlerDependencies): WebHandler => {
  const { webhook } = deps;
  const handleWebhookPost = async (request: Request, requestId: string): Promise<Response> => {
    const read = await readBodyUpTo(request, maxWebhookBytes);
    const answer =
      'tooLarge' in read
        ? webhook.tooLarge(read.tooLarge, requestId)
        : await webhook.receive({
            body: read.body,
            signature: request.headers.get('x-hub-signature-256') ?? undefined,
            requestId,
          });
    return json(answer.status, answer.body);
  };

  const handleVerification = (url: URL, requestId: string): Response => {
    const result = verifySubscription(url.searchParams, deps.verifyToken);
    if (result.isOk()) {
      deps.metrics.increment('webhook_requests_total', { outcome: 'verified' });
      return text(200, result.value);
    }
    deps.metrics.increment('webhook_requests_total', { outcome: result.error.type });
    const hint = result.error.type === 'verify_token_not_configured' ? ': set WHATSAPP_VERIFY_TOKEN' : '';
    deps.logger.warn({ requestId, error: result.error.type }, `webhook verification refused${hint}`);
    return text(403, 'Forbidden');
  };

  return async (request) => {
    const requestId = requestIdOf(request.headers.get('x-request-id'));
    const url = new URL(request.url);
    const route = routeOf(url.pathname);
    const withId = (response: Response) => {
      response.headers.set('x-request-id', requestId);
      return response;
    };
    switch (`${request.method} ${route}`) {
      case 'GET webhook':
        return withId(handleVerification(url, requestId));
      case 'POST webhook':
        return withId(await handleWebhookPost(request, requestId));
      case 'POST flows':
        return withId(
          deps.flows === undefined
            ? json(501, { error: 'not_implemented', message: 'WhatsApp Flows endpoint is not configured' })
            : await deps.flows(request),
        );
      // Up, whatever the database says: a liveness probe that fails only when the process must be restarted.
      case 'GET livez':
        return withId(json(200, { status: 'ok' }));
      case 'GET healthz': {
        const report = await deps.checkHealth();
        if (!report.healthy)
          deps.logger.warn({ requestId, checks: report.checks }, 'health check: unhealthy');
        const checks = Object.fromEntries(
          Object.entries(report.checks).map(([name, outcome]) => [name, outcome === 'ok' ? 'ok' : 'failing']),
        );
        return withId(
          json(report.healthy ? 200 : 503, { status: report.healthy ? 'ok' : 'unhealthy', checks }),
        );
      }
      default: {
        const known = ['webhook', 'flows', 'healthz', 'livez'].includes(route ?? '');
        return withId(json(known ? 405 : 404, { error: known ? 'method_not_allowed' : 'not_found' }));
      }
    }
  };
};
