import { okAsync, type ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import type { InboundContext, InboundResponder, ResponderOutcome } from './inbound-responder.port.ts';

/**
 * Decides the bot's answer to one inbound message by asking its responders in order. The last responder
 * must answer everything (the main menu does), so every message gets an outcome.
 */
export class HandleInbound {
  readonly #responders: readonly InboundResponder[];

  constructor(responders: readonly InboundResponder[]) {
    if (responders.length === 0) throw new Error('HandleInbound needs at least one responder');
    this.#responders = responders;
  }

  execute(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome, StorageError> {
    const ask = (index: number): ResultAsync<ResponderOutcome, StorageError> => {
      const responder = this.#responders[index];
      if (responder === undefined) return okAsync({ replies: [] });
      return responder
        .respond(context, repositories)
        .andThen((outcome) => (outcome === undefined ? ask(index + 1) : okAsync(outcome)));
    };
    return ask(0);
  }
}
