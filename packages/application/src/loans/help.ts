import { normalizeCommand, okAsync, type ResultAsync, textMessage } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import { catalogFor } from '../texts/catalog.ts';
import { helpWords } from '../texts/keywords.ts';

/**
 * "ayuda"/"help" lists what a person can type, opting out included. Asked before the loan conversation,
 * so it answers halfway through a loan too, and the loan waits where it was.
 */
export class HelpResponder implements InboundResponder {
  respond(context: InboundContext): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const content = context.message.content;
    if (content.type !== 'text' || !helpWords.has(normalizeCommand(content.body))) return okAsync(undefined);
    return okAsync({ replies: [built(textMessage(catalogFor(context.tenant.locale).commands))] });
  }
}
