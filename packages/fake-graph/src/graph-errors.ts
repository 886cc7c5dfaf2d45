import { classifyGraphErrorCode, defined } from '@prestabot/domain';

/** An error as the fake answers it: Meta's code, and optionally everything around it. */
export type GraphErrorSpec = {
  readonly code: number;
  readonly subcode?: number;
  readonly title?: string;
  readonly details?: string;
  /** Default: the status Meta's error table gives the code. */
  readonly httpStatus?: number;
  readonly retryAfterSeconds?: number;
};

/** Meta's wording for the codes the fake produces on its own (Cloud API error-code table). */
const titles: ReadonlyMap<number, string> = new Map([
  [1, 'An unknown error occurred'],
  [2, 'Service temporarily unavailable'],
  [4, 'Application request limit reached'],
  [100, 'Invalid parameter'],
  [190, 'Invalid OAuth access token - Cannot parse access token'],
  [2500, 'Unknown path components'],
  [130429, 'Rate limit hit'],
  [131000, 'Something went wrong'],
  [131016, 'Service unavailable'],
  [131026, 'Message undeliverable'],
  [131047, 'Re-engagement message'],
  [131048, 'Spam rate limit hit'],
  [131056, '(Business Account, Consumer Account) pair rate limit hit'],
  [132000, 'Number of parameters does not match the expected number of params'],
  [132001, 'Template name does not exist in the translation'],
  [133004, 'Server temporarily unavailable'],
]);

export const titleOf = (code: number): string => titles.get(code) ?? `Error ${code}`;

/** Codes Meta answers with 429 by default; tests may ask for 400, which integrators also observe. */
const throttlingCodes = new Set([4, 80007, 130429, 131048, 131056]);

/** The HTTP status Meta's error table gives a code. */
export const httpStatusOf = (code: number, throttlingStatus: number): number => {
  if (throttlingCodes.has(code)) return throttlingStatus;
  if (code === 0 || code === 190) return 401;
  if (code === 10 || code === 368 || code === 131031 || (code >= 200 && code <= 299)) return 403;
  if (code === 3 || code === 131000) return 500;
  if (code === 2 || code === 131016 || code === 133004) return 503;
  return 400;
};

let fbtraceSequence = 0;

/** Graph's error envelope: always `OAuthException`, with `error_data.details` and a `fbtrace_id`. */
export const graphErrorBody = (error: GraphErrorSpec) => {
  fbtraceSequence += 1;
  const title = error.title ?? titleOf(error.code);
  return {
    error: {
      message: `(#${error.code}) ${title}`,
      type: 'OAuthException',
      code: error.code,
      ...defined({ error_subcode: error.subcode }),
      error_data: { messaging_product: 'whatsapp', details: error.details ?? title },
      error_user_title: title,
      is_transient: classifyGraphErrorCode(error.code) === 'retryable',
      fbtrace_id: `AFake${fbtraceSequence.toString(36).padStart(8, '0')}`,
    },
  };
};
