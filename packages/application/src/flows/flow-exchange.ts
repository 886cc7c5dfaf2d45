import { err, errAsync, type Locale, type ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { SecretCipherError } from '../ports/secret-cipher.port.ts';
import type { TenantRepositories, TenantUnitOfWork } from '../ports/unit-of-work.port.ts';
import type { FlowTokenClaims } from './flow-tokens.port.ts';

/** A screen request of a Flow, decrypted and with its token checked. */
export type FlowExchange = {
  readonly action: 'INIT' | 'data_exchange' | 'BACK';
  readonly screen?: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly flowToken: string;
  readonly claims: FlowTokenClaims;
  readonly now: Date;
};

/** The next screen and its data, or `SUCCESS` with the parameters that close the Flow. */
export type FlowScreenResponse = {
  readonly screen: string;
  readonly data: Readonly<Record<string, unknown>>;
};

export type FlowExchangeError =
  | { readonly type: 'unknown_flow'; readonly flow: string }
  /** The token names a contact or number the tenant no longer has. */
  | { readonly type: 'flow_subject_gone' }
  /** The token's submit was saved before: a flow token saves once, so a replayed submit changes nothing. */
  | { readonly type: 'flow_already_submitted'; readonly locale: Locale }
  | SecretCipherError
  | StorageError;

/** One Flow's screens: what each request gets back. */
export interface FlowScreens {
  respond(
    exchange: FlowExchange,
    repositories: TenantRepositories,
  ): ResultAsync<FlowScreenResponse, FlowExchangeError>;
}

/** Answers a Flow's screen requests in the tenant its token names, with that Flow's screens. */
export class AnswerFlowExchange {
  readonly #unitOfWork: TenantUnitOfWork;
  readonly #flows: Readonly<Record<string, FlowScreens>>;

  constructor(unitOfWork: TenantUnitOfWork, flows: Readonly<Record<string, FlowScreens>>) {
    this.#unitOfWork = unitOfWork;
    this.#flows = flows;
  }

  execute(exchange: FlowExchange): ResultAsync<FlowScreenResponse, FlowExchangeError> {
    const screens = this.#flows[exchange.claims.flow];
    if (screens === undefined) return errAsync({ type: 'unknown_flow', flow: exchange.claims.flow });
    return this.#unitOfWork.run(exchange.claims.tenantId, (repositories) =>
      repositories.contacts
        .get(exchange.claims.contactId)
        .andThen((contact) =>
          contact === undefined
            ? err({ type: 'flow_subject_gone' as const })
            : screens.respond(exchange, repositories),
        ),
    );
  }
}
