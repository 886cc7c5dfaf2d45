import { errAsync, okAsync, type ResultAsync } from '@prestabot/domain';
import type { FlowTokenClaims, FlowTokenError, FlowTokens } from '../flows/flow-tokens.port.ts';

/**
 * Random-and-stored flow tokens, kept in memory: the other way the port allows (adapters-meta signs
 * them instead), enough for tests of the application alone.
 */
export class StoredFlowTokens implements FlowTokens {
  readonly #issued = new Map<string, FlowTokenClaims>();

  issue(claims: FlowTokenClaims): ResultAsync<string, never> {
    const token = `ft_${crypto.randomUUID()}`;
    this.#issued.set(token, claims);
    return okAsync(token);
  }

  verify(token: string, now: Date): ResultAsync<FlowTokenClaims, FlowTokenError> {
    const claims = this.#issued.get(token);
    if (claims === undefined) return errAsync({ type: 'invalid_flow_token' });
    if (now.getTime() >= claims.expiresAt.getTime())
      return errAsync({ type: 'expired_flow_token', expiredAt: claims.expiresAt });
    return okAsync(claims);
  }
}
