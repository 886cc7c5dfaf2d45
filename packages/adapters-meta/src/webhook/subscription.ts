import { err, ok, type Result } from '@prestabot/domain';

export type SubscriptionError =
  | { readonly type: 'verify_token_not_configured' }
  /** Wrong `hub.mode` or `hub.verify_token`; which one is not said, and the token is never echoed. */
  | { readonly type: 'subscription_rejected' }
  | { readonly type: 'challenge_missing' };

const encoder = new TextEncoder();

/**
 * Answers Meta's `GET /webhook` handshake: the raw `hub.challenge` to send back with a 200, or why not.
 * An empty configured token counts as none, so an empty `hub.verify_token` can never pass.
 */
export const verifySubscription = (
  params: URLSearchParams,
  verifyToken: string | undefined,
): Result<string, SubscriptionError> => {
  if (verifyToken === undefined || verifyToken === '') return err({ type: 'verify_token_not_configured' });
  const tokenMatches = constantTimeEquals(params.get('hub.verify_token') ?? '', verifyToken);
  if (params.get('hub.mode') !== 'subscribe' || !tokenMatches) return err({ type: 'subscription_rejected' });
  const challenge = params.get('hub.challenge');
  if (challenge === null || challenge === '') return err({ type: 'challenge_missing' });
  return ok(challenge);
};

/** Time depends on the length of `given` only, never on where it first differs from `expected`. */
const constantTimeEquals = (given: string, expected: string): boolean => {
  const left = encoder.encode(given);
  const right = encoder.encode(expected);
  let difference = left.length ^ right.length;
  left.forEach((byte, index) => {
    difference |= byte ^ (right[index % right.length] ?? 0);
  });
  return difference === 0;
};
