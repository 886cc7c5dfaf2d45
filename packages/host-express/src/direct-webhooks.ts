import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Logger, maxWebhookBytes } from '@prestabot/application';
import {
  BodyCollector,
  requestIdOf,
  routeOf,
  type WebhookAnswer,
  type WebhookEndpoint,
} from '@prestabot/runtime';
import { requestIdHeader, unhandledErrorAnswer } from './http-answers.ts';

/** A header as one string: Node gives a list only for `set-cookie`, but a type says nothing of that. */
const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

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
 * Answers with what `produce` gives, or with a 500 for a bug on the way (an answer Node cannot send is one):
 * outside Express nothing else would catch it, and a rejection nobody handles ends the process.
 */
const respond = async (
  res: ServerResponse,
  requestId: string,
  logger: Logger,
  produce: () => WebhookAnswer | Promise<WebhookAnswer>,
): Promise<void> => {
  try {
    answer(res, requestId, await produce());
  } catch (bug) {
    const failed = unhandledErrorAnswer(logger, requestId, bug);
    if (res.headersSent) res.destroy();
    else answer(res, requestId, failed);
  }
};

/**
 * Webhooks read and answered by `node:http` itself, every other request passed on to `rest` (the Express
 * app): per webhook, Express's router, body parser and response helpers cost the host's one thread more than
 * verifying and storing it did (README, Performance: "Webhooks straight on `node:http`"). The answers are
 * the webhook endpoint's, as the Web handler gives them.
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
    const body = new BodyCollector(maxWebhookBytes, Number(headerOf(req, 'content-length')));
    req.on('data', (chunk: Buffer) => body.add(chunk));
    // Answered once the whole request is in, a refused body read and thrown away (as Express's body parser
    // does): a server that answers and closes while its client still sends makes the client see a reset,
    // not the 413. A client that goes away mid-body sent no webhook: without an `end`, nothing is received.
    req.on('end', () => {
      const { tooLarge } = body;
      void respond(res, requestId, deps.logger, () =>
        tooLarge === undefined
          ? deps.webhook.receive({
              body: body.bytes,
              signature: headerOf(req, 'x-hub-signature-256'),
              requestId,
            })
          : deps.webhook.tooLarge(tooLarge, requestId),
      );
    });
  };
