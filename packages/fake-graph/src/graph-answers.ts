import type { IncomingMessage, ServerResponse } from 'node:http';
import { type GraphErrorSpec, graphErrorBody, httpStatusOf, titleOf } from './graph-errors.ts';
import { respond } from './http.ts';
import type { FakeNumber } from './numbers.ts';

/** Answers a Graph request with a Graph error, counted against the number when there is one. */
export type FailGraphRequest = (
  response: ServerResponse,
  number: FakeNumber | undefined,
  error: GraphErrorSpec,
) => void;

/** Graph's error answers, throttling errors with the HTTP status the fake was told to use. */
export const graphFailure =
  (throttlingHttpStatus: 429 | 400): FailGraphRequest =>
  (response, number, error) => {
    number?.recordError(error.code);
    const status = error.httpStatus ?? httpStatusOf(error.code, throttlingHttpStatus);
    respond(response, status, graphErrorBody(error), {
      ...(error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) }),
      ...(status === 401
        ? { 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${titleOf(190)}"` }
        : {}),
    });
  };

/** The connection is lost before an answer. */
export const dropRequest = (request: IncomingMessage, number: FakeNumber): void => {
  number.recordDrop();
  request.socket.destroy();
};
