/** An error as Meta reports it, in a send response, in a `failed` status or out of band. */
export type GraphErrorDetail = {
  readonly code: number;
  readonly title?: string;
  readonly message?: string;
  readonly details?: string;
  readonly subcode?: number;
};

/**
 * What a sender must do about a Graph error code. Meta advises keying on the code, never on the HTTP
 * status or the message text.
 */
export type GraphErrorClass =
  /** Throttling, temporary outages: retry with backoff. */
  | 'retryable'
  /** (business, consumer) pair limit: retry that recipient only, after a pause. */
  | 'pair_rate_limited'
  /** The access token is expired or invalid: flag the number, stop retrying it. */
  | 'token_invalid'
  /** More than 24 hours since the user last wrote: only a template can reach them. */
  | 'window_closed'
  /** Spam rate limit (earlier messages blocked or reported): no fast retry, back off for hours. */
  | 'spam_limited'
  /** The person's limit of marketing messages: this message will not reach them today. */
  | 'marketing_limited'
  /** The template is paused or disabled: stop using it. */
  | 'template_stopped'
  /** A policy block or a locked account: stop sending on the number. */
  | 'number_blocked'
  /** The request itself or the configuration is wrong: retrying the same request cannot help. */
  | 'permanent';

const retryableCodes = new Set([1, 2, 4, 17, 80007, 130429, 131000, 131016, 133004]);
const tokenCodes = new Set([0, 190]);

export const classifyGraphErrorCode = (code: number): GraphErrorClass => {
  if (retryableCodes.has(code)) return 'retryable';
  if (tokenCodes.has(code)) return 'token_invalid';
  if (code === 131056) return 'pair_rate_limited';
  if (code === 131047) return 'window_closed';
  if (code === 131048) return 'spam_limited';
  if (code === 131049) return 'marketing_limited';
  if (code === 132015 || code === 132016) return 'template_stopped';
  if (code === 368 || code === 131031) return 'number_blocked';
  return 'permanent';
};

/** Meta's throughput error for one number (more messages per second than it allows). */
export const throughputExceededCode = 130429;
/** Meta's template errors: paused (low quality) and disabled. */
export const templatePausedCode = 132015;
export const templateDisabledCode = 132016;
/** Meta's re-engagement error: the 24-hour customer-service window is closed. */
export const windowClosedCode = 131047;
