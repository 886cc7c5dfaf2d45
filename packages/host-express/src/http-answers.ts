import type { Logger } from '@prestabot/application';
import type { WebhookAnswer } from '@prestabot/runtime';

export const requestIdHeader = 'x-request-id';

/** A bug met while answering a request: logged with its stack, answered with a 500 that names the request. */
export const unhandledErrorAnswer = (
  logger: Logger,
  requestId: string | undefined,
  error: unknown,
): WebhookAnswer => {
  logger.error(
    { requestId, error: error instanceof Error ? error.stack : String(error) },
    'unhandled error in an HTTP request',
  );
  return { status: 500, body: { error: 'internal_error', requestId } };
};
