import type {
  Agreement,
  AgreementId,
  AppId,
  Contact,
  ContactId,
  DeliveryStatus,
  E164,
  GraphErrorDetail,
  MetaNumberView,
  PhoneNumberId,
  Tenant,
  TenantId,
  Wamid,
  WhatsAppNumber,
} from '@prestabot/domain';
import { defined, type ResultAsync, recipientKeyOf } from '@prestabot/domain';
import { type StorageError, storageError } from '../../errors.ts';
import type { ContactProfile, StoredFlowKey } from '../../flows/flow-stores.port.ts';
import type { ConversationRecord, RegisteredTemplate, Reminder } from '../../loans/loan-stores.port.ts';
import type { Lease, NewInboxEntry } from '../../ports/inbox.port.ts';
import type { OutboundRecord } from '../../ports/message-log.port.ts';
import type { StoredToken } from '../../ports/number-store.port.ts';
import type { NewOutboxEntry, OutboxEntry, OutboxFailure, OutboxStatus } from '../../ports/outbox.port.ts';
import type { RegisteredApp } from '../../ports/tenant-directory.port.ts';
import type { PricedMessage } from '../../ports/usage-ledger.port.ts';
import { JournaledMap } from './journal.ts';

// The in-memory database's tables, their rows, and what several of its stores share about them.

export type NumberRow = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly displayPhoneNumber?: E164;
  readonly wabaId: WhatsAppNumber['wabaId'];
  readonly appId?: AppId;
  token: StoredToken;
  invalid?: { readonly errorCode: number; readonly at: Date };
  ratePerSecond: number;
  readonly ratePinned?: true;
  meta?: MetaNumberView & { readonly syncedAt: Date };
  /** As the `messaging_limit` column: the latest of a sync's and an account webhook's (shown once synced). */
  reportedLimit?: number | 'unlimited';
  qualityFlagged?: true;
};

export type InboxRow = {
  readonly entry: NewInboxEntry;
  readonly tenantId: TenantId;
  attempts: number;
  availableAt: Date;
  lease?: Lease;
  processedAt?: Date;
  lastError?: string;
  abandoned?: boolean;
};

export type OutboxRow = {
  readonly entry: NewOutboxEntry;
  readonly tenantId: TenantId;
  status: OutboxStatus;
  attempts: number;
  availableAt: Date;
  lease?: Lease;
  wamid?: Wamid;
  lastFailure?: OutboxFailure;
  /** When it was sent or failed (`sent_at`, `failed_at`). */
  finishedAt?: Date;
  slotMisses?: number;
  limitHeldAt?: Date;
};

export type OutboundRow = OutboundRecord & {
  readonly tenantId: TenantId;
  status: DeliveryStatus;
  error?: GraphErrorDetail;
};

export const rowCopy = <V extends object>(row: V): V => ({ ...row });

export type ReminderRow = {
  reminder: Reminder;
  readonly tenantId: TenantId;
  lease?: Lease;
  attempts?: number;
};

export const emptyState = () => ({
  flowKeys: new JournaledMap<string, StoredFlowKey & { readonly tenantId: TenantId }>(),
  profiles: new JournaledMap<string, ContactProfile & { readonly tenantId: TenantId }>(),
  /** Contact id → the expiry of the newest flow token whose profile submit was recorded. */
  profileSubmits: new JournaledMap<string, Date>(),
  agreements: new JournaledMap<AgreementId, Agreement>(),
  /** Agreement id → when its open request was held (`agreements.request_held_at`). */
  heldRequests: new JournaledMap<AgreementId, Date>(),
  conversations: new JournaledMap<string, ConversationRecord & { readonly tenantId: TenantId }>(),
  reminders: new JournaledMap<string, ReminderRow>(rowCopy),
  templates: new JournaledMap<string, RegisteredTemplate & { readonly tenantId: TenantId }>(),
  tenants: new JournaledMap<TenantId, Tenant>(),
  numbers: new JournaledMap<PhoneNumberId, NumberRow>(rowCopy),
  apps: new JournaledMap<AppId, RegisteredApp>(),
  contacts: new JournaledMap<ContactId, Contact>(),
  inbox: new JournaledMap<string, InboxRow>(rowCopy),
  outbox: new JournaledMap<string, OutboxRow>(rowCopy),
  /**
   * The ids of pending outbox rows, as PostgreSQL's partial index on pending rows: claims scan these, not
   * every message ever sent (a long benchmark's claims slowed down as sent rows piled up).
   */
  pendingOutbox: new JournaledMap<string, true>(),
  /** The latest inbound message's time by tenant, number and contact: the 24-hour window. */
  lastInboundAt: new JournaledMap<string, Date>(),
  outbound: new JournaledMap<string, OutboundRow>(rowCopy),
  recipientHolds: new JournaledMap<string, Date>(),
  nextSlotAt: new JournaledMap<PhoneNumberId, Date>(),
  /** A slowed number's next business-initiated slot (`number_send_pacing.business_next_free_at`). */
  businessNextSlotAt: new JournaledMap<PhoneNumberId, Date>(),
  /** `portfolio|recipient key` → until when the portfolio's messaging limit counts the recipient. */
  portfolioReach: new JournaledMap<string, Date>(),
  /** `number|delivery key` → inbox id: the inbox's unique key, checked without scanning the inbox. */
  inboxKeys: new JournaledMap<string, string>(),
  /** `number|wamid` → the message's first recorded price, under its number's tenant. */
  pricedMessages: new JournaledMap<string, PricedMessage & { readonly tenantId: TenantId }>(),
  /** `tenant|idempotency key` → outbox id: the outbox's unique key, checked without scanning the outbox. */
  outboxKeys: new JournaledMap<string, string>(),
});

export type State = ReturnType<typeof emptyState>;

/** How the ports reach the tables: a read, or a unit of work that a failure rolls back; one at a time. */
export type StateAccess = {
  read<T>(read: (state: State) => T): ResultAsync<T, StorageError>;
  transaction<T, E>(work: (state: State) => ResultAsync<T, E>): ResultAsync<T, E | StorageError>;
};

export const duplicate = (message: string) => storageError('duplicate', message);

export const outboxKeyOf = (tenantId: TenantId, idempotencyKey: string) => `${tenantId}|${idempotencyKey}`;

export const pendingOutboxRows = (state: State): OutboxRow[] =>
  Array.from(state.pendingOutbox.keys(), (id) => state.outbox.peek(id)!);

/** `lease` (as handed out) still holds the row: the same owner, and an expiry no earlier (renewals move it on). */
export const holdsLease = (row: { readonly lease?: Lease }, lease: Lease): boolean =>
  row.lease !== undefined &&
  row.lease.owner === lease.owner &&
  row.lease.until.getTime() >= lease.until.getTime();

export const leaseActive = (row: { readonly lease?: Lease }, now: Date): boolean =>
  row.lease !== undefined && row.lease.until > now;

export const itemTime = (entry: NewInboxEntry): number =>
  (entry.item.kind === 'message' ? entry.item.sentAt : entry.item.at).getTime();

export const outboxEntryOf = (row: OutboxRow): OutboxEntry => ({
  ...row.entry,
  tenantId: row.tenantId,
  status: row.status,
  attempts: row.attempts,
  ...defined({ wamid: row.wamid }),
  ...defined({ lastFailure: row.lastFailure }),
  ...defined({ limitHeldAt: row.limitHeldAt }),
});

/** Entries never change, so each one's recipient key is built once, not on every claim. */
const recipientSlots = new WeakMap<NewOutboxEntry, string>();

export const recipientSlot = (row: OutboxRow): string => {
  const cached = recipientSlots.get(row.entry);
  if (cached !== undefined) return cached;
  const { entry } = row;
  const slot = `${entry.phoneNumberId}|${entry.recipient === undefined ? `outbox:${entry.id}` : recipientKeyOf(entry.recipient)}`;
  recipientSlots.set(entry, slot);
  return slot;
};
