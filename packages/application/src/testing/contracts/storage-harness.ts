import {
  type ContactId,
  defaultTenantSettings,
  defined,
  type E164,
  type InboundMessage,
  type InboundStatus,
  type PhoneNumberId,
  type Result,
  type StatusPricing,
  type Tenant,
  type TenantId,
  type TimeZone,
  type WabaId,
  type Wamid,
} from '@prestabot/domain';
import type { InboxQueue, NewInboxEntry, StatusFollowUps, StoredInboxEntry } from '../../ports/inbox.port.ts';
import type { NewNumber } from '../../ports/number-store.port.ts';
import type { NewOutboxEntry } from '../../ports/outbox.port.ts';
import type { StoragePorts } from '../../ports/storage-ports.port.ts';

/** Everything a storage implementation offers; each contract suite runs against one of these. */
export type StorageHarness = StoragePorts & {
  /** Releases connections; the harness is not used afterwards. */
  readonly close: () => Promise<void>;
};

export type StorageHarnessFactory = () => Promise<StorageHarness>;

let sequence = 0;
const next = () => {
  sequence += 1;
  return sequence;
};

/** A fresh random UUID for fixtures; storage implementations must accept any UUID. */
export const fixtureUuid = (): string => {
  const hex = (length: number) =>
    Array.from({ length }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
};

export const fixturePhoneNumberId = (): PhoneNumberId =>
  `1${Date.now() % 1_000_000}${next().toString().padStart(6, '0')}${Math.floor(Math.random() * 1000)}` as PhoneNumberId;

export const fixturePhone = (): E164 =>
  `+569${(10_000_000 + Math.floor(Math.random() * 89_999_999)).toString()}` as E164;

export const fixtureTenant = (overrides: Partial<Tenant> = {}): Tenant => ({
  id: fixtureUuid() as TenantId,
  name: `Tenant ${next()}`,
  timezone: 'America/Santiago' as TimeZone,
  locale: 'es-CL',
  status: 'active',
  settings: defaultTenantSettings,
  ...overrides,
});

export const fixtureNumber = (overrides: Partial<NewNumber> = {}): NewNumber => ({
  phoneNumberId: fixturePhoneNumberId(),
  wabaId: '1234567890' as WabaId,
  token: { kind: 'sealed', sealed: { keyId: 'k1', ciphertext: `sealed-${next()}` }, length: 180 },
  ratePerSecond: 80,
  ...overrides,
});

/** Creates a tenant with one number; returns both. */
export const seedTenant = async (
  harness: StorageHarness,
  tenantOverrides: Partial<Tenant> = {},
  numberOverrides: Partial<NewNumber> = {},
): Promise<{ readonly tenant: Tenant; readonly number: NewNumber }> => {
  const tenant = fixtureTenant(tenantOverrides);
  const number = fixtureNumber(numberOverrides);
  const result = await harness.unitOfWork.run(tenant.id, (repositories) =>
    repositories.tenant.create(tenant).andThen(() => repositories.numbers.add(number)),
  );
  if (result.isErr()) throw new Error(`seedTenant failed: ${JSON.stringify(result.error)}`);
  return { tenant, number };
};

export const seedContact = async (
  harness: StorageHarness,
  tenantId: TenantId,
  phone: E164 = fixturePhone(),
) => {
  const result = await harness.unitOfWork.run(tenantId, (repositories) =>
    repositories.contacts.upsert({ phone, name: 'Ana' }, fixtureUuid() as ContactId),
  );
  if (result.isErr()) throw new Error(`seedContact failed: ${JSON.stringify(result.error)}`);
  return result.value.contact;
};

export const textInboxEntry = (
  phoneNumberId: PhoneNumberId,
  options: {
    readonly waId?: string;
    readonly wamid?: string;
    readonly sentAt?: Date;
    readonly receivedAt?: Date;
  } = {},
): NewInboxEntry => {
  const waId = options.waId ?? '56911112222';
  const sentAt = options.sentAt ?? new Date('2026-03-02T12:00:00Z');
  const message: InboundMessage = {
    kind: 'message',
    phoneNumberId,
    wabaId: '1234567890' as WabaId,
    wamid: (options.wamid ?? `wamid.${fixtureUuid()}`) as Wamid,
    from: { waId, profileName: 'Ana' },
    sentAt,
    content: { type: 'text', body: 'hola' },
  };
  return {
    id: fixtureUuid(),
    phoneNumberId,
    deliveryKey: message.wamid,
    orderingKey: waId,
    item: message,
    receivedAt: options.receivedAt ?? sentAt,
  };
};

/** A delivery status webhook item as an inbox entry. */
export const statusInboxEntry = (
  phoneNumberId: PhoneNumberId,
  wamid: Wamid,
  status: InboundStatus['status'],
  options: {
    readonly at?: Date;
    readonly errors?: InboundStatus['errors'];
    readonly callbackData?: string;
    readonly pricing?: StatusPricing;
  } = {},
): NewInboxEntry => {
  const at = options.at ?? new Date('2026-03-02T12:00:00Z');
  const item: InboundStatus = {
    kind: 'status',
    phoneNumberId,
    wabaId: '1234567890' as WabaId,
    wamid,
    status,
    at,
    recipient: { waId: '56911112222' },
    errors: options.errors ?? [],
    ...defined({ bizOpaqueCallbackData: options.callbackData }),
    ...defined({ pricing: options.pricing }),
  };
  return {
    id: fixtureUuid(),
    phoneNumberId,
    deliveryKey: `${wamid}#${status}#${fixtureUuid()}`,
    item,
    receivedAt: at,
  };
};

export const textOutboxEntry = (
  phoneNumberId: PhoneNumberId,
  options: {
    readonly to?: E164;
    readonly contactId?: ContactId;
    readonly priority?: number;
    readonly at?: Date;
    /** null: no idempotency key, as a reply is queued. */
    readonly key?: string | null;
  } = {},
): NewOutboxEntry => {
  const at = options.at ?? new Date('2026-03-02T12:00:00Z');
  return {
    id: fixtureUuid(),
    phoneNumberId,
    recipient: { phone: options.to ?? fixturePhone() },
    ...defined({ contactId: options.contactId }),
    message: { type: 'text', body: 'hola', previewUrl: false },
    origin: { kind: 'notification' },
    ...(options.key === null ? {} : { idempotencyKey: options.key ?? `test:${fixtureUuid()}` }),
    priority: options.priority ?? 0,
    notBefore: at,
    createdAt: at,
  };
};

/**
 * Flags a number's token invalid the way the send path does: a message to it is claimed and Graph's 190
 * for its token recorded.
 */
export const flagTokenInvalid = async (
  harness: StorageHarness,
  tenantId: TenantId,
  number: NewNumber,
  at: Date,
): Promise<void> => {
  await expectOk(
    harness.unitOfWork.run(tenantId, (r) =>
      r.outbox.enqueue([textOutboxEntry(number.phoneNumberId, { at })]),
    ),
  );
  const claimed = await expectOk(
    harness.outboxQueue.claim({ owner: 'flagger', limit: 1000, leaseMs: 30_000, now: at, horizonMs: 60_000 }),
  );
  const send = claimed.find((candidate) => candidate.phoneNumberId === number.phoneNumberId);
  if (send === undefined) throw new Error(`no message of ${number.phoneNumberId} could be claimed`);
  await expectOk(
    harness.outboxQueue.record([
      {
        kind: 'token_invalid',
        id: send.id,
        lease: send.lease,
        at,
        retryAt: at,
        errorCode: 190,
        token: send.token,
        failure: { reason: 'token_invalid', code: 190 },
      },
    ]),
  );
};

/**
 * Stores inbox entries, unleased unless `lease` says (as `serve --ingest-only` leaves them for a worker's
 * claims); statuses that need nothing more (no follow-ups unless given) are applied instead.
 */
export const storeInInbox = (
  inbox: Pick<InboxQueue, 'store'>,
  entries: readonly NewInboxEntry[],
  options: {
    readonly lease?: { readonly owner: string; readonly leaseMs: number };
    readonly now?: Date;
    readonly followUps?: StatusFollowUps;
  } = {},
): Promise<readonly StoredInboxEntry[]> =>
  expectOk(
    inbox.store({
      entries,
      now: options.now ?? new Date('2026-03-02T12:00:00Z'),
      followUps: options.followUps ?? { origins: [], statuses: [] },
      ...defined({ lease: options.lease }),
    }),
  );

/** Unwraps a Result in a test, failing the test with the error otherwise. */
export const expectOk = async <T, E>(result: PromiseLike<Result<T, E>>): Promise<T> => {
  const settled = await result;
  if (settled.isErr()) throw new Error(`expected Ok, got Err: ${JSON.stringify(settled.error)}`);
  return settled.value;
};

/** Unwraps an Err in a test, failing the test if the result is Ok. */
export const expectErr = async <T, E>(result: PromiseLike<Result<T, E>>): Promise<E> => {
  const settled = await result;
  if (settled.isOk()) throw new Error(`expected Err, got Ok: ${JSON.stringify(settled.value)}`);
  return settled.error;
};
