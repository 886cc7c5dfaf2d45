import {
  buttonsMessage,
  isGreeting,
  type OutboundMessage,
  okAsync,
  type Result,
  type ResultAsync,
  textMessage,
  truncateCodePoints,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import { catalogFor } from '../texts/catalog.ts';
import type { InboundContext, InboundResponder, ResponderOutcome } from './inbound-responder.port.ts';
import { menuAction } from './interactive-ids.ts';

/** Texts are ours and constant; a message built from them that breaks Meta's limits is a bug. */
export const built = (
  result: Result<OutboundMessage, { readonly field: string; readonly rule: string }>,
): OutboundMessage =>
  result.match(
    (message) => message,
    (violation) => {
      throw new Error(`bot message breaks Meta's limits: ${violation.field} ${violation.rule}`);
    },
  );

const shortName = (name: string | undefined): string | undefined =>
  name === undefined || name.trim() === '' ? undefined : truncateCodePoints(name.trim(), 40);

export const mainMenu = (context: Pick<InboundContext, 'tenant' | 'contact'>): OutboundMessage => {
  const texts = catalogFor(context.tenant.locale).mainMenu;
  return built(
    buttonsMessage({
      body: texts.body(shortName(context.contact.name)),
      buttons: [
        { id: menuAction('new_loan'), title: texts.newLoan },
        { id: menuAction('my_loans'), title: texts.myLoans },
        { id: menuAction('my_profile'), title: texts.myProfile },
      ],
      footer: texts.footer,
    }),
  );
};

/**
 * The bot's fallback: a greeting or anyone's first message gets the main menu, something we cannot read
 * gets a polite "not yet", and anything else gets the help text. Reactions and Meta's system notices get
 * no answer.
 */
export class MainMenuResponder implements InboundResponder {
  respond(context: InboundContext): ResultAsync<ResponderOutcome, StorageError> {
    const texts = catalogFor(context.tenant.locale);
    const content = context.message.content;
    const reply = (...replies: OutboundMessage[]) => okAsync({ replies });
    switch (content.type) {
      case 'reaction':
      case 'system':
        return reply();
      case 'welcome_request':
        return reply(mainMenu(context));
      case 'unsupported':
      case 'media':
      case 'location': {
        const notYet = built(textMessage(texts.cannotReadYet));
        return context.firstContact ? reply(notYet, mainMenu(context)) : reply(notYet);
      }
      case 'text':
        if (context.firstContact || isGreeting(content.body)) return reply(mainMenu(context));
        return reply(built(textMessage(texts.help)));
      default:
        if (context.firstContact) return reply(mainMenu(context));
        return reply(built(textMessage(texts.help)));
    }
  }
}
