import { describe, expect, it } from 'vitest';
import { verifySubscription } from './subscription.ts';

const verifyToken = 'prestabot-verify-7d1e';

const handshake = (params: Record<string, string>) => new URLSearchParams(params);

describe('verifySubscription', () => {
  it('returns the raw challenge when mode and token match', () => {
    const params = handshake({
      'hub.mode': 'subscribe',
      'hub.verify_token': verifyToken,
      'hub.challenge': '1158201444',
    });

    expect(verifySubscription(params, verifyToken)._unsafeUnwrap()).toBe('1158201444');
  });

  it('reads the dotted parameter names from a real query string', () => {
    const params = new URLSearchParams(
      `hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=a%20b`,
    );

    expect(verifySubscription(params, verifyToken)._unsafeUnwrap()).toBe('a b');
  });

  it.each([[undefined], ['']])('refuses every handshake while no token is configured (%j)', (configured) => {
    const params = handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': '', 'hub.challenge': '1' });

    expect(verifySubscription(params, configured)._unsafeUnwrapErr()).toEqual({
      type: 'verify_token_not_configured',
    });
  });

  it.each([
    ['a wrong token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' }],
    [
      'a token that only starts alike',
      { 'hub.mode': 'subscribe', 'hub.verify_token': `${verifyToken}x`, 'hub.challenge': '1' },
    ],
    ['a missing token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
    ['another mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': verifyToken, 'hub.challenge': '1' }],
    ['a missing mode', { 'hub.verify_token': verifyToken, 'hub.challenge': '1' }],
  ])('rejects %s without echoing the token', (_case, params) => {
    const error = verifySubscription(handshake(params), verifyToken)._unsafeUnwrapErr();

    expect(error).toEqual({ type: 'subscription_rejected' });
    expect(JSON.stringify(error)).not.toContain(verifyToken);
  });

  it.each([[{}], [{ 'hub.challenge': '' }]])('reports a missing challenge (%j)', (challenge) => {
    const params = handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': verifyToken, ...challenge });

    expect(verifySubscription(params, verifyToken)._unsafeUnwrapErr()).toEqual({ type: 'challenge_missing' });
  });
});
