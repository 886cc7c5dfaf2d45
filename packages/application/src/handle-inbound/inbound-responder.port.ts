import type {
  Contact,
  InboundMessage,
  OutboundMessage,
  ResultAsync,
  Tenant,
  WhatsAppNumber,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';

/** Everything known about one inbound message once its tenant and sender are resolved. */
export type InboundContext = {
  readonly tenant: Tenant;
  readonly number: WhatsAppNumber;
  readonly contact: Contact;
  /** This is the first time the person writes to this tenant. */
  readonly firstContact: boolean;
  readonly message: InboundMessage;
  readonly now: Date;
};

/** What the bot does about a message: the replies to its sender, in order. */
export type ResponderOutcome = {
  readonly replies: readonly OutboundMessage[];
};

/**
 * One part of the bot's behaviour (the main menu, the loan conversation, …). Responders are asked in
 * order; the first that returns an outcome answers the message.
 */
export interface InboundResponder {
  /** `undefined` when the message is not this responder's to answer. */
  respond(
    context: InboundContext,
    repositories: TenantRepositories,
  ): ResultAsync<ResponderOutcome | undefined, StorageError>;
}
