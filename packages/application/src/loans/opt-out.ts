import { normalizeCommand, okAsync, type ResultAsync, textMessage } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type {
  InboundContext,
  InboundResponder,
  ResponderOutcome,
} from '../handle-inbound/inbound-responder.port.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import { catalogFor } from '../texts/catalog.ts';
import { optInWords, optOutWords } from '../texts/keywords.ts';

/**
 * `STOP`/`baja` stop every message the bot would start (requests, notices, reminders); `START`/`alta`
 * resume them. Replies to what the person writes are never affected.
 */
export class OptOutResponder implements InboundResponder {
  respond(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome | undefined, StorageError> {
    const content = context.message.content;
    const said =
      content.type === 'text'
        ? normalizeCommand(content.body)
        : content.type === 'quick_reply'
          ? normalizeCommand(content.payload)
          : '';
    const optOut = optOutWords.has(said);
    if (!optOut && !optInWords.has(said)) return okAsync(undefined);
    const texts = catalogFor(context.tenant.locale);
    return repositories.contacts
      .setOptedOut(context.contact.id, optOut)
      .map(() => ({ replies: [built(textMessage(optOut ? texts.optedOut : texts.optedIn))] }));
  }
}
