import type {
  ContactId,
  DeliveryStatus,
  GraphErrorDetail,
  InboundContentType,
  OutboundMessageType,
  PhoneNumberId,
  ResultAsync,
  Wamid,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { OutboxOrigin } from './outbox.port.ts';

export type InboundRecord = {
  readonly wamid: Wamid;
  readonly phoneNumberId: PhoneNumberId;
  readonly contactId: ContactId;
  readonly type: InboundContentType;
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

/** The scoped tenant's message history: inbound (the 24-hour window) and outbound with statuses. */
export interface MessageLog {
  /** Idempotent per wamid. */
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
