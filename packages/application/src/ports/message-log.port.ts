import type {
  ContactId,
  DeliveryStatus,
  GraphErrorDetail,
  OutboundMessageType,
  PhoneNumberId,
  ResultAsync,
  Wamid,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { OutboxOrigin } from './outbox.port.ts';

/** A message the contact sent to the number: it opens (or keeps open) their 24-hour window. */
export type InboundRecord = {
  readonly phoneNumberId: PhoneNumberId;
  readonly contactId: ContactId;
  /** WhatsApp's timestamp of the message. */
  readonly sentAt: Date;
};

export type OutboundRecord = {
  readonly wamid: Wamid;
  readonly phoneNumberId: PhoneNumberId;
  readonly contactId?: ContactId;
  readonly outboxId: string;
  readonly origin: OutboxOrigin;
  readonly type: OutboundMessageType;
  readonly acceptedAt: Date;
};

export type StatusChange = {
  readonly wamid: Wamid;
  readonly status: DeliveryStatus;
  readonly at: Date;
  readonly errors: readonly GraphErrorDetail[];
};

/** Where a message stands after a status was applied to it. */
export type StatusOutcome = {
  readonly current: DeliveryStatus;
  readonly outboxId: string;
  readonly origin: OutboxOrigin;
  readonly contactId?: ContactId;
};

/**
 * The scoped tenant's messages: of inbound ones, only what the 24-hour window needs (the latest per number
 * and contact); outbound ones with their statuses.
 */
export interface MessageLog {
  /** Idempotent, in any order: the window moves only forward. */
  recordInbound(record: InboundRecord): ResultAsync<void, StorageError>;
  /** The user's last message to this number, by WhatsApp timestamp. */
  lastInboundAt(
    phoneNumberId: PhoneNumberId,
    contactId: ContactId,
  ): ResultAsync<Date | undefined, StorageError>;
  /** Idempotent per wamid. */
  recordOutbound(record: OutboundRecord): ResultAsync<void, StorageError>;
  /** The outbound message with this wamid and where it stands, if the tenant sent one. */
  outbound(
    wamid: Wamid,
  ): ResultAsync<(StatusOutcome & { readonly error?: GraphErrorDetail }) | undefined, StorageError>;
}
