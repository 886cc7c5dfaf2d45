import { type Clock, type SendFailure, sendFailureOf } from '@prestabot/application';
import { defined, err, ok, type Result, ResultAsync } from '@prestabot/domain';
import { Pool } from 'undici';
import * as z from 'zod';

export const defaultGraphBaseUrl = 'https://graph.facebook.com';
export const defaultGraphVersion = 'v24.0';
/** Older versions than this lack the message fields the bot sends (typing indicators, BSUID recipients). */
export const minimumGraphMajorVersion = 24;

/** Where Graph is and which version to speak: validated once, at start-up. */
export type GraphApiConfig = {
  /** Origin plus an optional path prefix, without a trailing slash. */
  readonly baseUrl: string;
  readonly version: string;
};

export type InvalidGraphConfig = {
  readonly type: 'invalid_graph_config';
  readonly variable: 'META_GRAPH_URL' | 'META_GRAPH_VERSION';
  readonly value: string;
  readonly expected: string;
};

const versionPattern = /^v(\d+)\.(\d+)$/;

/** Reads `META_GRAPH_URL` and `META_GRAPH_VERSION` (either may be absent: Meta's URL, v24.0). */
export const parseGraphApiConfig = (input: {
  readonly baseUrl?: string | undefined;
  readonly version?: string | undefined;
}): Result<GraphApiConfig, InvalidGraphConfig> => {
  const baseUrl = input.baseUrl ?? defaultGraphBaseUrl;
  const version = input.version ?? defaultGraphVersion;
  const url = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
  if (
    url === undefined ||
    !['http:', 'https:'].includes(url.protocol) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    return err({
      type: 'invalid_graph_config',
      variable: 'META_GRAPH_URL',
      value: baseUrl,
      expected: `an http(s) URL without query, such as ${defaultGraphBaseUrl}`,
    });
  }
  const major = versionPattern.exec(version)?.[1];
  if (major === undefined || Number(major) < minimumGraphMajorVersion) {
    return err({
      type: 'invalid_graph_config',
      variable: 'META_GRAPH_VERSION',
      value: version,
      expected: `a Graph API version such as ${defaultGraphVersion} (v${minimumGraphMajorVersion}.0 or newer)`,
    });
  }
  return ok({ baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, version });
};

export type GraphClientOptions = {
  /** Keep-alive connections to Graph's origin (default 32). */
  readonly connections?: number;
  /** Requests sent on one connection before the first answer arrives (default 1: no pipelining). */
  readonly pipelining?: number;
  /** One request, from sending to the last byte of the answer (default 15 s). */
  readonly requestTimeoutMs?: number;
  /** Reads `Retry-After` dates against this clock (default: the system clock). */
  readonly clock?: Clock;
};

/** A call to an edge of one phone number: `/{version}/{phone_number_id}/{edge}`. */
export type GraphCall = {
  readonly method: 'GET' | 'POST';
  readonly phoneNumberId: string;
  readonly edge: 'messages' | 'whatsapp_business_encryption';
  readonly accessToken: string;
  readonly body?: { readonly json: unknown } | { readonly form: Readonly<Record<string, string>> };
  /** Given up as unanswered at this moment if it comes before the request timeout. */
  readonly answerBy?: Date;
};

const graphErrorSchema = z.looseObject({
  error: z.looseObject({
    code: z.number().int(),
    message: z.string().optional().catch(undefined),
    error_user_title: z.string().optional().catch(undefined),
    error_data: z
      .looseObject({ details: z.string().optional().catch(undefined) })
      .optional()
      .catch(undefined),
  }),
});

const systemClock: Clock = { now: () => new Date() };

/**
 * HTTP to the Graph API over one keep-alive undici pool. Each call is exactly one attempt: retries
 * belong to the outbox, which reschedules with full-jitter backoff, so a retry survives a restart and
 * never holds a worker slot while it waits.
 */
export class GraphClient {
  readonly #version: string;
  readonly #pool: Pool;
  readonly #pathPrefix: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  #closed: Promise<void> | undefined;

  constructor(config: GraphApiConfig, options: GraphClientOptions = {}) {
    const url = new URL(config.baseUrl);
    this.#version = config.version;
    this.#pathPrefix = url.pathname === '/' ? '' : url.pathname;
    this.#timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#clock = options.clock ?? systemClock;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 32,
      pipelining: options.pipelining ?? 1,
      keepAliveTimeout: 30_000,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  /**
   * Graph's JSON answer, or why there is none, classified by Meta's error code (never by HTTP status):
   * an answer without a code (a proxy's 502, an HTML page) and every network failure are retryable.
   */
  call(call: GraphCall): ResultAsync<unknown, SendFailure> {
    const path = `/${encodeURIComponent(call.phoneNumberId)}/${call.edge}`;
    return this.#answerOf(this.#request(path, call));
  }

  /** Reads `fields` of a Graph node (a phone number, a WABA): `GET /{version}/{nodeId}?fields=…`. */
  readNode(
    nodeId: string,
    fields: readonly string[],
    accessToken: string,
  ): ResultAsync<unknown, SendFailure> {
    const query = new URLSearchParams({ fields: fields.join(',') }).toString();
    return this.#answerOf(
      this.#request(`/${encodeURIComponent(nodeId)}?${query}`, { method: 'GET', accessToken }),
    );
  }

  #answerOf(
    request: Promise<{
      status: number;
      headers: Record<string, string | string[] | undefined>;
      text: string;
    }>,
  ): ResultAsync<unknown, SendFailure> {
    return ResultAsync.fromPromise(request, networkFailure).andThen(
      ({ status, headers, text }): Result<unknown, SendFailure> => {
        const body = parseJson(text);
        const graphError = graphErrorSchema.safeParse(body);
        if (graphError.success) {
          const { error } = graphError.data;
          const title = error.error_user_title ?? error.message;
          const details = error.error_data?.details;
          const retryAfterMs = retryAfterMsOf(headers['retry-after'], this.#clock.now());
          return err(
            sendFailureOf({
              code: error.code,
              ...defined({ title }),
              ...defined({ details }),
              ...defined({ retryAfterMs }),
            }),
          );
        }
        if (status < 200 || status >= 300)
          return err(retryable(`Graph answered HTTP ${status} without an error code`));
        return body === undefined
          ? err(retryable(`Graph answered HTTP ${status} with a body that is not JSON`))
          : ok(body);
      },
    );
  }

  /** Releases the pool's connections (once, however often it is called); calls made afterwards fail. */
  close(): Promise<void> {
    this.#closed ??= this.#pool.close();
    return this.#closed;
  }

  /** The request timeout, or less when the call must be answered sooner (at least 1 ms: 0 is refused). */
  #timeoutOf(call: Pick<GraphCall, 'answerBy'>): number {
    if (call.answerBy === undefined) return this.#timeoutMs;
    return Math.max(1, Math.min(this.#timeoutMs, call.answerBy.getTime() - this.#clock.now().getTime()));
  }

  async #request(path: string, call: Pick<GraphCall, 'method' | 'accessToken' | 'body' | 'answerBy'>) {
    const response = await this.#pool.request({
      path: `${this.#pathPrefix}/${this.#version}${path}`,
      method: call.method,
      headers: { authorization: `Bearer ${call.accessToken}`, ...contentTypeOf(call.body) },
      body: encodeBody(call.body),
      signal: AbortSignal.timeout(this.#timeoutOf(call)),
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }
}

const contentTypeOf = (body: GraphCall['body']): Record<string, string> => {
  if (body === undefined) return {};
  return { 'content-type': 'json' in body ? 'application/json' : 'application/x-www-form-urlencoded' };
};

const encodeBody = (body: GraphCall['body']): string | null => {
  if (body === undefined) return null;
  return 'json' in body ? JSON.stringify(body.json) : new URLSearchParams(body.form).toString();
};

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const retryable = (title: string): SendFailure => ({ type: 'send_retryable', title });

/** Retryable, but the request may have reached Graph: only a status webhook can tell whether it went. */
const unknownOutcome = (title: string): SendFailure => ({
  type: 'send_retryable',
  title,
  outcomeUnknown: true,
});

/** Failures before a connection carried the request: it certainly did not reach Graph. */
const beforeSending = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Graph answered 2xx but without what a success carries: whether the call took effect is unknown, so it
 * is retried like a timeout (a duplicate is possible, a silent loss is not).
 */
export const unconfirmedAnswer = (missing: string): SendFailure =>
  unknownOutcome(`Graph answered without ${missing}`);

/** Timeouts, resets, refused connections: the request may or may not have arrived; try again later. */
const networkFailure = (error: unknown): SendFailure => {
  const name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (name === 'TimeoutError' || name === 'AbortError') return unknownOutcome('Graph did not answer in time');
  const title = `connection to Graph failed (${typeof code === 'string' ? code : name})`;
  return typeof code === 'string' && beforeSending.has(code) ? retryable(title) : unknownOutcome(title);
};

/** `Retry-After` as seconds (`120`) or as an HTTP date; absent or unreadable → undefined. */
export const retryAfterMsOf = (header: string | string[] | undefined, now: Date): number | undefined => {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
};
