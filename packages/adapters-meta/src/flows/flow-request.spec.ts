import { describe, expect, it } from 'vitest';
import { parseFlowRequest } from './flow-request.ts';

describe('parseFlowRequest', () => {
  it('reads a ping', () => {
    expect(parseFlowRequest({ version: '3.0', action: 'ping' })._unsafeUnwrap()).toEqual({
      type: 'ping',
      version: '3.0',
    });
  });

  it('reads INIT', () => {
    expect(
      parseFlowRequest({ version: '3.0', action: 'INIT', flow_token: 'v1.a.b' })._unsafeUnwrap(),
    ).toEqual({
      type: 'init',
      flowToken: 'v1.a.b',
    });
  });

  it('reads a data exchange, keeping the form data as sent', () => {
    const data = { first_name: 'José', accepted: true, items: ['a'], nested: { n: 1 } };

    expect(
      parseFlowRequest({
        version: '3.0',
        action: 'data_exchange',
        screen: 'PROFILE_FORM',
        data,
        flow_token: 'v1.a.b',
      })._unsafeUnwrap(),
    ).toEqual({ type: 'data_exchange', flowToken: 'v1.a.b', screen: 'PROFILE_FORM', data });
  });

  it('reads a data exchange without data as empty data', () => {
    expect(
      parseFlowRequest({ action: 'data_exchange', screen: 'S', flow_token: 't' })._unsafeUnwrap(),
    ).toMatchObject({ type: 'data_exchange', data: {} });
  });

  it.each([
    ['with a screen', { screen: 'ACCOUNT_FORM' }, 'ACCOUNT_FORM'],
    ['without a screen', {}, undefined],
  ])('reads BACK %s', (_case, extra, screen) => {
    expect(parseFlowRequest({ action: 'BACK', flow_token: 't', ...extra })._unsafeUnwrap()).toEqual({
      type: 'back',
      flowToken: 't',
      screen,
    });
  });

  it.each(['INIT', 'data_exchange'] as const)('reads an error notification sent with %s', (action) => {
    const payload = {
      version: '3.0',
      action,
      flow_token: 't',
      data: { error: 'invalid-screen-transition', error_message: 'screen SUCCESS is not reachable' },
    };

    expect(parseFlowRequest(payload)._unsafeUnwrap()).toEqual({
      type: 'error_notification',
      action,
      flowToken: 't',
      error: 'invalid-screen-transition',
      errorMessage: 'screen SUCCESS is not reachable',
    });
  });

  it('reads an error notification without a message', () => {
    expect(
      parseFlowRequest({ action: 'INIT', flow_token: 't', data: { error: 'timeout' } })._unsafeUnwrap(),
    ).toMatchObject({ type: 'error_notification', error: 'timeout', errorMessage: undefined });
  });

  it('ignores fields it does not know', () => {
    expect(parseFlowRequest({ action: 'INIT', flow_token: 't', screen: 'X', extra: [1] }).isOk()).toBe(true);
  });

  it.each(['init', 'DATA_EXCHANGE', 'navigate', 'complete', ''])(
    'reports the action %j as unknown',
    (action) => {
      expect(parseFlowRequest({ action, flow_token: 't' })._unsafeUnwrapErr()).toEqual({
        type: 'unknown_flow_action',
        action,
      });
    },
  );

  it.each([
    ['not an object', 'ping', /expected object/],
    ['no action', { flow_token: 't' }, /^action: /],
    ['a ping without a version', { action: 'ping' }, /^version: /],
    ['INIT without a token', { action: 'INIT' }, /^flow_token: /],
    ['an empty token', { action: 'INIT', flow_token: '' }, /^flow_token: /],
    ['a data exchange without a screen', { action: 'data_exchange', flow_token: 't', data: {} }, /^screen: /],
    ['data that is an array', { action: 'data_exchange', screen: 'S', flow_token: 't', data: [] }, /^data: /],
    ['an error notification without a token', { action: 'INIT', data: { error: 'x' } }, /^flow_token: /],
    [
      'a numeric error message',
      { action: 'INIT', flow_token: 't', data: { error: 'x', error_message: 1 } },
      /^data\.error_message: /,
    ],
  ])('reports %s as an invalid request', (_case, payload, problem) => {
    const error = parseFlowRequest(payload)._unsafeUnwrapErr();

    expect(error.type).toBe('invalid_flow_request');
    expect(error.type === 'invalid_flow_request' && error.problem).toMatch(problem);
  });
});
