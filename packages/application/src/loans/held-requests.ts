import { type OutboundMessage, ok, okAsync, type ResultAsync, safeTry } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { mainMenu } from '../handle-inbound/main-menu-responder.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import type { LoanActions } from './loan-actions.ts';

/**
 * Someone with requests held for them (ones the bot could not send: no 24-hour window and no template,
 * or they had opted out) sees them when they write, each with its buttons, before the menu; whoever
 * asked is told once. Asked after the loan conversation, so "sí", a loan's button or a step of a loan
 * being recorded keep their meaning; reactions and Meta's notices bring nothing.
 */
export class HeldRequestsResponder implements InboundResponder {
  readonly #actions: LoanActions;

  constructor(dependencies: { readonly actions: LoanActions }) {
    this.#actions = dependencies.actions;
  }

  respond(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const type = context.message.content.type;
    if (type === 'reaction' || type === 'system') return okAsync(undefined);
    const actions = this.#actions;
    return safeTry(async function* () {
      const held = yield* repositories.agreements.takeHeldRequests(context.contact.id);
      const requests: OutboundMessage[] = [];
      for (const agreement of held)
        requests.push(
          ...(yield* actions.deliverHeld(
            { tenant: context.tenant, number: context.number, actor: context.contact, now: context.now },
            agreement,
            repositories,
          )),
        );
      return ok(requests.length === 0 ? undefined : { replies: [...requests, mainMenu(context)] });
    });
  }
}
