import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Logger, maxWebhookBytes } from '@prestabot/application';
import { requestIdOf, routeOf, type WebhookAnswer, type WebhookEndpoint } from '@prestabot/runtime';
import { requestIdHeader, unhandledErrorAnswer } from './http-answers.ts';

/**
 * `POST …/webhook` in plain bytes: the one route under load. Anything else (another route or method, a
 * body in a content encoding, which Express inflates, a request target in absolute form) is left to Express.
 */
const isPlainWebhookPost = (req: IncomingMessage): boolean => {
  if (req.method !== 'POST') return false;
  const encoding = headerOf(req, 'content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const target = req.url ?? '';
  if (!target.startsWith('/')) return false;
  const queryAt = target.indexOf('?');
  return routeOf(queryAt === -1 ? target : target.slice(0, queryAt)) === 'webhook';
};

/** A header as one string: Node gives a list only for `set-cookie`, but a type says nothing of that. */
const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

const answer = (res: ServerResponse, requestId: string, { status, body }: WebhookAnswer): void => {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    [requestIdHeader]: requestId,
  });
  res.end(json);
};

/**
 * Webhooks read and answered by `node:http` itself, every other request passed on to `rest` (the Express
 * app). Per webhook, Express's router, body parser and response helpers cost more of the host's one thread
 * than verifying and storing it: with them the acknowledgement loop reached 42–52 % of bare Express, without
 * them 62–73 % (README, Performance). The answers are the webhook endpoint's, as the Web handler gives them.
 */
export const serveWebhooksDirectly =
  (
    deps: { readonly webhook: WebhookEndpoint; readonly logger: Logger },
    rest: RequestListener,
  ): RequestListener =>
  (req, res) => {
    if (!isPlainWebhookPost(req)) {
      rest(req, res);
      return;
    }
    const requestId = requestIdOf(headerOf(req, requestIdHeader));
    const refuseTooLarge = (size: number) => {
      // The rest of the body is never read: the connection closes once the answer is out.
      res.shouldKeepAlive = false;
      answer(res, requestId, deps.webhook.tooLarge(size, requestId));
    };
    const declared = Number(req.headers['content-length']);
    if (declared > maxWebhookBytes) {
      refuseTooLarge(declared);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxWebhookBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', collect);
      req.off('end', receive);
      refuseTooLarge(size);
    };
    const receive = () => {
      void deps.webhook
        .receive({
          body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
          signature: headerOf(req, 'x-hub-signature-256'),
          requestId,
        })
        .catch((bug: unknown) => unhandledErrorAnswer(deps.logger, requestId, bug))
        .then((answered) => answer(res, requestId, answered));
    };
    req.on('data', collect);
    // A client that goes away mid-body sent no webhook: without an `end`, nothing is received.
    req.on('end', receive);
  };
