import {
  type Agreement,
  type Contact,
  type DeliveryStatus,
  defined,
  type GraphErrorDetail,
  type PhoneNumberId,
  type TenantId,
} from '@prestabot/domain';
import type { Reminder } from '../../loans/loan-stores.port.ts';
import type { InboxEntry, Lease } from '../../ports/inbox.port.ts';
import type { OutboundRecord } from '../../ports/message-log.port.ts';
import type { OutboxEntry } from '../../ports/outbox.port.ts';
import { type InboxRow, type OutboxRow, outboxEntryOf, type State } from './state.ts';

// What tests may see of the in-memory database that no port shows, across tenants: copies of what is
// stored, as domain types, read without touching the tables' journals.

/** An inbox entry with its processing state (the inbox table's row). */
export type InboxEntryView = InboxEntry & {
  readonly availableAt: Date;
  readonly lease?: Lease;
  readonly processedAt?: Date;
  readonly lastError?: string;
  readonly abandoned?: boolean;
};

/** An outbox message with its sending state (the outbox table's row). */
export type OutboxMessageView = OutboxEntry & {
  readonly availableAt: Date;
  readonly lease?: Lease;
  /** When it was sent or failed. */
  readonly finishedAt?: Date;
  readonly slotMisses?: number;
};

/** A message Graph accepted, and the latest delivery status recorded for it. */
export type OutboundMessageView = OutboundRecord & {
  readonly tenantId: TenantId;
  readonly status: DeliveryStatus;
  readonly error?: GraphErrorDetail;
};

const inTenant =
  (tenantId: TenantId | undefined) =>
  (row: { readonly tenantId: TenantId }): boolean =>
    tenantId === undefined || row.tenantId === tenantId;

const inboxEntryViewOf = (row: InboxRow): InboxEntryView => ({
  ...row.entry,
  tenantId: row.tenantId,
  attempts: row.attempts,
  availableAt: row.availableAt,
  ...defined({ lease: row.lease }),
  ...defined({ processedAt: row.processedAt }),
  ...defined({ lastError: row.lastError }),
  ...defined({ abandoned: row.abandoned }),
});

const outboxMessageViewOf = (row: OutboxRow): OutboxMessageView => ({
  ...outboxEntryOf(row),
  availableAt: row.availableAt,
  ...defined({ lease: row.lease }),
  ...defined({ finishedAt: row.finishedAt }),
  ...defined({ slotMisses: row.slotMisses }),
});

export const inboxEntries = (state: State, tenantId?: TenantId): InboxEntryView[] =>
  [...state.inbox.peekValues()].filter(inTenant(tenantId)).map(inboxEntryViewOf);

export const inboxEntry = (state: State, id: string): InboxEntryView | undefined => {
  const row = state.inbox.peek(id);
  return row === undefined ? undefined : inboxEntryViewOf(row);
};

export const outboxMessages = (state: State, tenantId?: TenantId): OutboxMessageView[] =>
  [...state.outbox.peekValues()].filter(inTenant(tenantId)).map(outboxMessageViewOf);

export const outboxMessage = (state: State, id: string): OutboxMessageView | undefined => {
  const row = state.outbox.peek(id);
  return row === undefined ? undefined : outboxMessageViewOf(row);
};

export const outboundMessages = (state: State, tenantId?: TenantId): OutboundMessageView[] =>
  [...state.outbound.peekValues()].filter(inTenant(tenantId)).map((row) => ({ ...row }));

export const contacts = (state: State, tenantId?: TenantId): Contact[] =>
  [...state.contacts.peekValues()].filter(inTenant(tenantId));

export const agreements = (state: State, tenantId?: TenantId): Agreement[] =>
  [...state.agreements.peekValues()].filter(inTenant(tenantId));

export const reminders = (state: State, tenantId?: TenantId): Reminder[] =>
  [...state.reminders.peekValues()].filter(inTenant(tenantId)).map((row) => row.reminder);

/**
 * The messaging limit an account webhook reported for the number (the `messaging_limit` column), which
 * `NumberStore` shows only once the number was synced.
 */
export const reportedMessagingLimit = (
  state: State,
  phoneNumberId: PhoneNumberId,
): number | 'unlimited' | undefined => state.numbers.peek(phoneNumberId)?.reportedLimit;
