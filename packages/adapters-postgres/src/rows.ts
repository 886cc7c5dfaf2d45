import {
  type ClaimedInboxEntry,
  type ClaimedReminder,
  type ClaimedSend,
  type ContactProfile,
  type ConversationRecord,
  type InboxItem,
  type OutboxEntry,
  type OutboxFailure,
  type OutboxOrigin,
  type PrunedRows,
  type QueueDepth,
  type RegisteredApp,
  type RegisteredTemplate,
  type Reminder,
  type SealedSecret,
  type StorageError,
  type StoredFlowKey,
  type StoredToken,
  storageError,
  templatePurposes,
  templateVariables,
} from '@prestabot/application';
import {
  type Agreement,
  type AgreementId,
  type AgreementStatus,
  type AppId,
  agreementActions,
  type BusinessPortfolioId,
  type Contact,
  type ContactId,
  currencyCodes,
  type DeliveryStatus,
  type E164,
  err,
  type GraphErrorDetail,
  type InboundContent,
  isJsonObject,
  type JsonObject,
  type LoanSubject,
  type MetaAppId,
  type MetaNumberView,
  type OutboundMessage,
  ok,
  type PhoneNumberId,
  parseIsoDate,
  parseTimeZone,
  qualityRatings,
  type Recipient,
  type Result,
  reminderRules,
  supportedLocales,
  type Tenant,
  type TenantId,
  type TenantSettings,
  type TimeZone,
  type TokenStatus,
  throughputLevels,
  type WabaId,
  type Wamid,
  type WhatsAppNumber,
  webhookDeliveryStatuses,
} from '@prestabot/domain';
import * as z from 'zod';
import type { ApplicationRoleStatus, TableIsolation } from './health.ts';
import { applicationRole } from './sql/scopes.ts';
import type { SqlRow } from './sql/sql-driver.ts';

// Every row read back is validated here before it becomes a domain value: one module, one schema per
// row shape, the SQL column lists next to the schemas that read them.

const branded = <T extends string>() => z.string().transform((value) => value as T);

/** Columns are timestamptz, which both drivers return as Date. */
const storedTime = z.date();
/** Dates inside jsonb were written as ISO strings by JSON.stringify. */
const isoTime = z.iso.datetime({ offset: true }).transform((text) => new Date(text));
/**
 * `date` columns, read as text (`due_date::text`): pg parses a date into a Date at midnight in the process's
 * time zone, which east of Greenwich is the day before in UTC.
 */
const storedDate = z.string().transform((text, context) => {
  const parsed = parseIsoDate(text);
  if (parsed.isOk()) return parsed.value;
  context.issues.push({ code: 'custom', message: 'not a calendar date', input: null });
  return z.NEVER;
});
/** `bigint` columns, read as text (`amount_minor::text`): pg returns a string, PGlite a number. */
const storedMinorUnits = z
  .string()
  .regex(/^[0-9]{1,15}$/)
  .transform(Number);

/** A nullable column read as an optional field: NULL becomes an absent key, not `undefined`. */
const present = <K extends string, V>(key: K, value: V | null): { [P in K]?: V } =>
  (value === null ? {} : { [key]: value }) as { [P in K]?: V };

// ---------------------------------------------------------------------------------------------- jsonb

const graphErrorDetail = z.object({
  code: z.number().int(),
  title: z.string().exactOptional(),
  message: z.string().exactOptional(),
  details: z.string().exactOptional(),
  subcode: z.number().int().exactOptional(),
}) satisfies z.ZodType<GraphErrorDetail>;

const inboundContent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string() }),
  z.object({ type: z.literal('button_reply'), id: z.string(), title: z.string() }),
  z.object({
    type: z.literal('list_reply'),
    id: z.string(),
    title: z.string(),
    description: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('flow_reply'),
    name: z.string(),
    responseJson: z.string(),
    body: z.string().exactOptional(),
  }),
  z.object({ type: z.literal('quick_reply'), text: z.string(), payload: z.string() }),
  z.object({
    type: z.literal('media'),
    mediaType: z.enum(['image', 'video', 'audio', 'document', 'sticker']),
    mediaId: z.string(),
    mimeType: z.string().exactOptional(),
    caption: z.string().exactOptional(),
    filename: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().exactOptional(),
    address: z.string().exactOptional(),
  }),
  z.object({
    type: z.literal('contacts'),
    cards: z.array(
      z.object({
        formattedName: z.string(),
        phones: z.array(
          z.object({ phone: z.string(), waId: z.string().exactOptional(), type: z.string().exactOptional() }),
        ),
      }),
    ),
  }),
  z.object({ type: z.literal('reaction'), messageId: branded<Wamid>(), emoji: z.string().exactOptional() }),
  z.object({ type: z.literal('welcome_request') }),
  z.object({ type: z.literal('system'), event: z.string(), body: z.string().exactOptional() }),
  z.object({ type: z.literal('unsupported'), originalType: z.string(), errors: z.array(graphErrorDetail) }),
]) satisfies z.ZodType<InboundContent>;

const sender = z.object({
  waId: z.string().exactOptional(),
  userId: z.string().exactOptional(),
  profileName: z.string().exactOptional(),
});

const itemRouting = {
  phoneNumberId: branded<PhoneNumberId>(),
  displayPhoneNumber: z.string().exactOptional(),
  wabaId: branded<WabaId>(),
};

const inboxItem = z.discriminatedUnion('kind', [
  z.object({
    ...itemRouting,
    kind: z.literal('message'),
    wamid: branded<Wamid>(),
    from: sender,
    sentAt: isoTime,
    replyTo: branded<Wamid>().exactOptional(),
    content: inboundContent,
  }),
  z.object({
    ...itemRouting,
    kind: z.literal('status'),
    wamid: branded<Wamid>(),
    status: z.enum(webhookDeliveryStatuses),
    at: isoTime,
    recipient: sender,
    errors: z.array(graphErrorDetail),
    bizOpaqueCallbackData: z.string().exactOptional(),
    pricing: z
      .object({
        billable: z.boolean(),
        pricingModel: z.string(),
        type: z.string().exactOptional(),
        category: z.string(),
      })
      .exactOptional(),
  }),
]) satisfies z.ZodType<InboxItem>;

const templateParameter = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string(), name: z.string().exactOptional() }),
  z.object({
    type: z.literal('currency'),
    fallback: z.string(),
    code: z.string(),
    amount1000: z.number(),
    name: z.string().exactOptional(),
  }),
  z.object({ type: z.literal('date_time'), fallback: z.string(), name: z.string().exactOptional() }),
]);

const optionalFrame = { header: z.string().exactOptional(), footer: z.string().exactOptional() };

const outboundMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string(), previewUrl: z.boolean() }),
  z.object({
    type: z.literal('buttons'),
    body: z.string(),
    ...optionalFrame,
    buttons: z.array(z.object({ id: z.string(), title: z.string() })),
  }),
  z.object({
    type: z.literal('list'),
    body: z.string(),
    ...optionalFrame,
    buttonLabel: z.string(),
    sections: z.array(
      z.object({
        title: z.string().exactOptional(),
        rows: z.array(
          z.object({ id: z.string(), title: z.string(), description: z.string().exactOptional() }),
        ),
      }),
    ),
  }),
  z.object({
    type: z.literal('flow'),
    body: z.string(),
    ...optionalFrame,
    flowId: z.string(),
    flowToken: z.string(),
    cta: z.string(),
    mode: z.enum(['published', 'draft']),
    action: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('navigate'),
        screen: z.string(),
        data: z.custom<JsonObject>(isJsonObject, { error: 'must be a JSON object' }).exactOptional(),
      }),
      z.object({ type: z.literal('data_exchange') }),
    ]),
  }),
  z.object({
    type: z.literal('template'),
    name: z.string(),
    language: z.string(),
    components: z.array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('header'), parameters: z.array(templateParameter) }),
        z.object({ type: z.literal('body'), parameters: z.array(templateParameter) }),
        z.object({ type: z.literal('quick_reply_button'), index: z.number().int(), payload: z.string() }),
        z.object({ type: z.literal('url_button'), index: z.number().int(), text: z.string() }),
      ]),
    ),
  }),
  z.object({ type: z.literal('reaction'), messageId: branded<Wamid>(), emoji: z.string() }),
  z.object({ type: z.literal('mark_read'), messageId: branded<Wamid>(), typingIndicator: z.boolean() }),
]) satisfies z.ZodType<OutboundMessage>;

const recipient = z.union([
  z.strictObject({ phone: branded<E164>() }),
  z.strictObject({ userId: z.string() }),
]) satisfies z.ZodType<Recipient>;

const origin = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('reply'), inboxId: z.string() }),
  z.object({ kind: z.literal('reminder'), reminderId: z.string() }),
  z.object({ kind: z.literal('notification'), agreementId: z.string().exactOptional() }),
]) satisfies z.ZodType<OutboxOrigin>;

const deliveryStatus = z.enum([
  'queued',
  'accepted',
  'sent',
  'delivered',
  'read',
  'played',
  'failed',
]) satisfies z.ZodType<DeliveryStatus>;

const failure = z.object({
  reason: z.string(),
  code: z.number().int().exactOptional(),
  title: z.string().exactOptional(),
  details: z.string().exactOptional(),
}) satisfies z.ZodType<OutboxFailure>;

const tenantSettings = z.object({
  profileFlowId: z.string().exactOptional(),
  reminderSendHour: z.number().int().min(0).max(23),
  defaultCurrency: z.enum(currencyCodes),
  defaultCallingCode: z.string(),
}) satisfies z.ZodType<TenantSettings>;

// ---------------------------------------------------------------------------------------------- rows

/** A tenant's columns, aliased so that a tenant and a number can share one row. */
export const tenantColumnsSql =
  'id AS tenant_id, name AS tenant_name, timezone AS tenant_timezone, locale AS tenant_locale, status AS tenant_status, settings AS tenant_settings';

const tenantColumns = {
  tenant_id: branded<TenantId>(),
  tenant_name: z.string(),
  tenant_timezone: z
    .string()
    .refine((value) => parseTimeZone(value).isOk())
    .transform((value) => value as TimeZone),
  tenant_locale: z.enum(supportedLocales),
  tenant_status: z.enum(['active', 'suspended']),
  tenant_settings: tenantSettings,
};

const tenantOf = (row: z.output<z.ZodObject<typeof tenantColumns>>): Tenant => ({
  id: row.tenant_id,
  name: row.tenant_name,
  timezone: row.tenant_timezone,
  locale: row.tenant_locale,
  status: row.tenant_status,
  settings: row.tenant_settings,
});

export const tenantRow = z.object(tenantColumns).transform(tenantOf);

export const numberColumnsSql =
  'tenant_id, phone_number_id, display_phone_number, waba_id, app_id, token_state, token_length, token_invalid_at, token_error_code, rate_per_second, rate_pinned, business_portfolio_id, messaging_limit, quality_rating, quality_flagged, throughput_level, name_status, verified_name, meta_synced_at';

const numberColumns = {
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  display_phone_number: branded<E164>().nullable(),
  waba_id: branded<WabaId>(),
  app_id: branded<AppId>().nullable(),
  token_state: z.enum(['missing', 'empty', 'sealed']),
  token_length: z.number().int().positive().nullable(),
  token_invalid_at: storedTime.nullable(),
  token_error_code: z.number().int().nullable(),
  rate_per_second: z.number().int(),
  // Nullable: a tenant without numbers lists them as NULL.
  rate_pinned: z.boolean().nullable(),
  business_portfolio_id: branded<BusinessPortfolioId>().nullable(),
  messaging_limit: z.number().int().positive().nullable(),
  quality_rating: z.enum(qualityRatings).nullable(),
  quality_flagged: z.boolean().nullable(),
  throughput_level: z.enum(throughputLevels).nullable(),
  name_status: z.string().nullable(),
  verified_name: z.string().nullable(),
  meta_synced_at: storedTime.nullable(),
};

type NumberColumns = z.output<z.ZodObject<typeof numberColumns>>;

/** As the application's tokenStatusOfStored: an invalid flag only shows on a token that is set. */
const tokenStatusOf = (row: NumberColumns): TokenStatus => {
  if (row.token_state !== 'sealed') return { kind: row.token_state };
  const length = row.token_length ?? 0;
  if (row.token_invalid_at === null || row.token_error_code === null) return { kind: 'set', length };
  return { kind: 'invalid', length, lastErrorAt: row.token_invalid_at, errorCode: row.token_error_code };
};

const numberOf = (row: NumberColumns): WhatsAppNumber => ({
  tenantId: row.tenant_id,
  phoneNumberId: row.phone_number_id,
  wabaId: row.waba_id,
  tokenStatus: tokenStatusOf(row),
  ratePerSecond: row.rate_per_second,
  ...present('displayPhoneNumber', row.display_phone_number),
  ...present('appId', row.app_id),
  ...(row.rate_pinned === true ? { ratePinned: true } : {}),
  ...(row.quality_flagged === true ? { qualityFlagged: true } : {}),
  ...present('meta', metaViewOf(row)),
});

/** Meta's view is stored whole by a sync: without its sync time or its quality and throughput, none is known. */
const metaViewOf = (row: NumberColumns): (MetaNumberView & { readonly syncedAt: Date }) | null =>
  row.meta_synced_at === null || row.quality_rating === null || row.throughput_level === null
    ? null
    : {
        messagingLimit: row.messaging_limit ?? 'unlimited',
        qualityRating: row.quality_rating,
        throughputLevel: row.throughput_level,
        syncedAt: row.meta_synced_at,
        ...present('businessPortfolioId', row.business_portfolio_id),
        ...present('nameStatus', row.name_status),
        ...present('verifiedName', row.verified_name),
      };

export const numberRow = z.object(numberColumns).transform(numberOf);

/** A row of `prestabot.tenant_number`: a tenant, and one of its numbers unless it has none. */
export const tenantNumberRow = z
  .object({ ...tenantColumns, ...numberColumns, phone_number_id: branded<PhoneNumberId>().nullable() })
  .transform((row) => ({
    tenant: tenantOf(row),
    number:
      row.phone_number_id === null ? undefined : numberOf({ ...row, phone_number_id: row.phone_number_id }),
  }));

const storedTokenColumns = {
  token_state: z.enum(['missing', 'empty', 'sealed']),
  token_key_id: z.string().nullable(),
  token_ciphertext: z.string().nullable(),
  token_length: z.number().int().positive().nullable(),
};

const storedTokenOf = (
  row: z.output<z.ZodObject<typeof storedTokenColumns>>,
  context: z.RefinementCtx,
): StoredToken => {
  if (row.token_state !== 'sealed') return { kind: row.token_state };
  if (row.token_key_id === null || row.token_ciphertext === null || row.token_length === null) {
    context.issues.push({
      code: 'custom',
      message: 'a sealed token lacks its key id, ciphertext or length',
      input: null,
    });
    return z.NEVER;
  }
  return {
    kind: 'sealed',
    sealed: { keyId: row.token_key_id, ciphertext: row.token_ciphertext },
    length: row.token_length,
  };
};

export const storedTokenRow = z.object(storedTokenColumns).transform(storedTokenOf);

/** A stored token as its columns: token_state, token_key_id, token_ciphertext, token_length. */
export const tokenColumnsOf = (
  token: StoredToken,
): readonly [string, string | null, string | null, number | null] =>
  token.kind === 'sealed'
    ? [token.kind, token.sealed.keyId, token.sealed.ciphertext, token.length]
    : [token.kind, null, null, null];

export const contactColumnsSql = 'id, tenant_id, phone_e164, user_id, name, opted_out';

const contactColumns = {
  id: branded<ContactId>(),
  tenant_id: branded<TenantId>(),
  phone_e164: branded<E164>().nullable(),
  user_id: z.string().nullable(),
  name: z.string().nullable(),
  opted_out: z.boolean(),
};

const contactOf = (row: z.output<z.ZodObject<typeof contactColumns>>): Contact => ({
  id: row.id,
  tenantId: row.tenant_id,
  optedOut: row.opted_out,
  ...present('phone', row.phone_e164),
  ...present('userId', row.user_id),
  ...present('name', row.name),
});

export const contactRow = z.object(contactColumns).transform(contactOf);

export const upsertedContactRow = z
  .object({ ...contactColumns, created: z.boolean() })
  .transform((row) => ({ contact: contactOf(row), created: row.created }));

/** A sealed secret as its columns (`…_key_id`, `…_ciphertext`): both NULL when there is none. */
export const sealedColumnsOf = (secret: SealedSecret | undefined): readonly [string | null, string | null] =>
  secret === undefined ? [null, null] : [secret.keyId, secret.ciphertext];

export const contactProfileRow = z
  .object({
    name: z.string().nullable(),
    email: z.string().nullable(),
    bank_details_key_id: z.string().nullable(),
    bank_details_ciphertext: z.string().nullable(),
  })
  .transform((row, context): ContactProfile => {
    if ((row.bank_details_key_id === null) !== (row.bank_details_ciphertext === null)) {
      context.issues.push({
        code: 'custom',
        message: 'sealed bank details lack their key id or ciphertext',
        input: null,
      });
      return z.NEVER;
    }
    return {
      ...present('name', row.name),
      ...present('email', row.email),
      ...present(
        'bankDetails',
        row.bank_details_key_id === null || row.bank_details_ciphertext === null
          ? null
          : { keyId: row.bank_details_key_id, ciphertext: row.bank_details_ciphertext },
      ),
    };
  });

const lease = { lease_owner: z.string(), leased_until: storedTime };

export const claimedInboxRow = z
  .object({
    id: z.string(),
    tenant_id: branded<TenantId>(),
    phone_number_id: branded<PhoneNumberId>(),
    delivery_key: z.string(),
    ordering_key: z.string().nullable(),
    item: inboxItem,
    received_at: storedTime,
    attempts: z.number().int(),
    ...lease,
  })
  .transform(
    (row): ClaimedInboxEntry => ({
      id: row.id,
      tenantId: row.tenant_id,
      phoneNumberId: row.phone_number_id,
      deliveryKey: row.delivery_key,
      item: row.item,
      receivedAt: row.received_at,
      attempts: row.attempts,
      lease: { owner: row.lease_owner, until: row.leased_until },
      ...present('orderingKey', row.ordering_key),
    }),
  );

const outboxColumns = {
  id: z.string(),
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  recipient: recipient.nullable(),
  contact_id: branded<ContactId>().nullable(),
  message: outboundMessage,
  reply_to: branded<Wamid>().nullable(),
  origin,
  idempotency_key: z.string(),
  priority: z.number().int(),
  not_before: storedTime,
  created_at: storedTime,
  status: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  wamid: branded<Wamid>().nullable(),
  last_failure: failure.nullable(),
  fallback: outboundMessage.nullable(),
  limit_held_at: storedTime.nullable(),
};

const outboxEntryOf = (row: z.output<z.ZodObject<typeof outboxColumns>>): OutboxEntry => ({
  id: row.id,
  tenantId: row.tenant_id,
  phoneNumberId: row.phone_number_id,
  message: row.message,
  origin: row.origin,
  idempotencyKey: row.idempotency_key,
  priority: row.priority,
  notBefore: row.not_before,
  createdAt: row.created_at,
  status: row.status,
  attempts: row.attempts,
  ...present('recipient', row.recipient),
  ...present('contactId', row.contact_id),
  ...present('replyTo', row.reply_to),
  ...present('wamid', row.wamid),
  ...present('lastFailure', row.last_failure),
  ...present('fallback', row.fallback),
  ...present('limitHeldAt', row.limit_held_at),
});

export const outboxRow = z.object(outboxColumns).transform(outboxEntryOf);

/** A row of `prestabot.claimed_send`: a leased message, its slot, and its number's sealed token. */
export const claimedSendRow = z
  .object({
    ...outboxColumns,
    ...lease,
    ...storedTokenColumns,
    send_at: storedTime,
    slot_misses: z.number().int().nonnegative(),
  })
  .transform(
    (row, context): ClaimedSend => ({
      ...outboxEntryOf(row),
      lease: { owner: row.lease_owner, until: row.leased_until },
      sendAt: row.send_at,
      slotMisses: row.slot_misses,
      token: storedTokenOf(row, context),
    }),
  );

/** A row of `prestabot.store_inbox`: what became of one entry. */
export const storedInboxRow = z.object({
  id: z.string(),
  tenant_id: branded<TenantId>().nullable(),
  outcome: z.enum(['stored', 'applied', 'duplicate', 'unrouted']),
  leased_until: storedTime.nullable(),
});

/** A row of `prestabot.apply_statuses`: what became of one status entry. */
export const appliedStatusRow = z.object({
  entry_id: z.string(),
  result: z.enum(['completed', 'follow_up', 'unknown', 'lease_lost']),
  status: deliveryStatus.nullable(),
  outbox_id: z.string().nullable(),
  origin: origin.nullable(),
  contact_id: branded<ContactId>().nullable(),
});

/** A row of `prestabot.record_send_outcomes`. */
export const recordedRow = z
  .object({ id: z.string(), recorded: z.boolean() })
  .transform((row) => row.recorded);

export const outboundStatusRow = z
  .object({
    status: deliveryStatus,
    outbox_id: z.string(),
    origin,
    contact_id: branded<ContactId>().nullable(),
    error_code: z.number().int().nullable(),
    error_title: z.string().nullable(),
  })
  .transform((row) => ({
    current: row.status,
    outboxId: row.outbox_id,
    origin: row.origin,
    ...present('contactId', row.contact_id),
    ...present(
      'error',
      row.error_code === null ? null : { code: row.error_code, ...present('title', row.error_title) },
    ),
  }));

/** A loan's columns: its subject as kind and amount (money) or description (an object), dates as text. */
export const agreementColumnsSql =
  'id, tenant_id, phone_number_id, lender_contact_id, borrower_contact_id, kind, amount_minor::text AS amount_minor, currency, description, due_date::text AS due_date, status, created_at, confirmed_at, return_claimed_at, closed_at, last_reminded_at';

const agreementColumns = {
  id: branded<AgreementId>(),
  tenant_id: branded<TenantId>(),
  phone_number_id: branded<PhoneNumberId>(),
  lender_contact_id: branded<ContactId>(),
  borrower_contact_id: branded<ContactId>(),
  due_date: storedDate,
  status: z.enum([
    'pending_confirmation',
    'active',
    'returned',
    'rejected',
    'cancelled',
  ]) satisfies z.ZodType<AgreementStatus>,
  created_at: storedTime,
  confirmed_at: storedTime.nullable(),
  return_claimed_at: storedTime.nullable(),
  closed_at: storedTime.nullable(),
  last_reminded_at: storedTime.nullable(),
};

export const agreementRow = z
  .discriminatedUnion('kind', [
    z.object({
      ...agreementColumns,
      kind: z.literal('money'),
      amount_minor: storedMinorUnits,
      currency: z.enum(currencyCodes),
    }),
    z.object({ ...agreementColumns, kind: z.literal('object'), description: z.string() }),
  ])
  .transform(
    (row): Agreement => ({
      id: row.id,
      tenantId: row.tenant_id,
      phoneNumberId: row.phone_number_id,
      lenderId: row.lender_contact_id,
      borrowerId: row.borrower_contact_id,
      subject:
        row.kind === 'money'
          ? { kind: 'money', amount: { minor: row.amount_minor, currency: row.currency } }
          : { kind: 'object', description: row.description },
      dueDate: row.due_date,
      status: row.status,
      createdAt: row.created_at,
      ...present('confirmedAt', row.confirmed_at),
      ...present('returnClaimedAt', row.return_claimed_at),
      ...present('closedAt', row.closed_at),
      ...present('lastRemindedAt', row.last_reminded_at),
    }),
  );

/** A loan's subject as its columns: kind, amount_minor, currency, description. */
export const subjectColumnsOf = (
  subject: LoanSubject,
): readonly [string, number | null, string | null, string | null] =>
  subject.kind === 'money'
    ? [subject.kind, subject.amount.minor, subject.amount.currency, null]
    : [subject.kind, null, null, subject.description];

export const conversationRow = z
  .object({ state: z.json(), version: z.number().int().positive(), expires_at: storedTime })
  .transform(
    (row): ConversationRecord => ({ state: row.state, version: row.version, expiresAt: row.expires_at }),
  );

export const reminderColumnsSql =
  'id, agreement_id, kind, local_date::text AS local_date, scheduled_at, recipient_contact_id, status, outbox_id, reason, delivery';

const reminderColumns = {
  id: z.string(),
  agreement_id: branded<AgreementId>(),
  kind: z.enum(reminderRules.map((rule) => rule.kind)),
  local_date: storedDate,
  scheduled_at: storedTime,
  recipient_contact_id: branded<ContactId>(),
  status: z.enum(['pending', 'queued', 'cancelled', 'skipped']),
  outbox_id: z.string().nullable(),
  reason: z.string().nullable(),
  delivery: deliveryStatus.nullable(),
};

const reminderOf = (row: z.output<z.ZodObject<typeof reminderColumns>>): Reminder => ({
  id: row.id,
  agreementId: row.agreement_id,
  kind: row.kind,
  localDate: row.local_date,
  scheduledAt: row.scheduled_at,
  recipientId: row.recipient_contact_id,
  status: row.status,
  ...present('outboxId', row.outbox_id),
  ...present('reason', row.reason),
  ...present('delivery', row.delivery),
});

export const reminderRow = z.object(reminderColumns).transform(reminderOf);

export const claimedReminderRow = z
  .object({ ...reminderColumns, tenant_id: branded<TenantId>(), attempts: z.number().int(), ...lease })
  .transform(
    (row): ClaimedReminder => ({
      ...reminderOf(row),
      tenantId: row.tenant_id,
      lease: { owner: row.lease_owner, until: row.leased_until },
      attempts: row.attempts,
    }),
  );

export const replacedPlanRow = z
  .object({ added: z.number().int(), cancelled: z.number().int(), agreement_found: z.boolean() })
  .transform((row) => ({
    added: row.added,
    cancelled: row.cancelled,
    agreementFound: row.agreement_found,
  }));

/** Where a reminder's message is: NULL until its first delivery status. */
export const reminderDeliveryRow = z.object({ delivery: deliveryStatus.nullable() });

export const templateColumnsSql = 'purpose, name, language, parameters, quick_replies, status, status_reason';

export const templateRow = z
  .object({
    purpose: z.enum(templatePurposes),
    name: z.string(),
    language: z.string(),
    parameters: z.array(z.object({ variable: z.enum(templateVariables), name: z.string().exactOptional() })),
    quick_replies: z.array(z.enum(agreementActions)),
    // `pending` was never written: only approved templates are registered.
    status: z.enum(['approved', 'paused', 'disabled', 'rejected', 'recategorised']),
    status_reason: z.string().nullable(),
  })
  .transform(
    (row): RegisteredTemplate => ({
      purpose: row.purpose,
      name: row.name,
      language: row.language,
      parameters: row.parameters,
      quickReplies: row.quick_replies,
      ...(row.status === 'approved'
        ? {}
        : { stopped: { status: row.status, reason: row.status_reason ?? row.status.toUpperCase() } }),
    }),
  );

export const flowKeyColumnsSql =
  'id, phone_number_id, fingerprint, private_key_key_id, private_key_ciphertext, created_at, retired_at, grace_from';

const flowKeyColumns = {
  id: z.string(),
  phone_number_id: branded<PhoneNumberId>().nullable(),
  fingerprint: z.string(),
  private_key_key_id: z.string(),
  private_key_ciphertext: z.string(),
  created_at: storedTime,
  retired_at: storedTime.nullable(),
  grace_from: storedTime.nullable(),
};

const flowKeyOf = (row: z.output<z.ZodObject<typeof flowKeyColumns>>): StoredFlowKey => ({
  id: row.id,
  fingerprint: row.fingerprint,
  privateKey: { keyId: row.private_key_key_id, ciphertext: row.private_key_ciphertext },
  createdAt: row.created_at,
  ...present('phoneNumberId', row.phone_number_id),
  ...present('retiredAt', row.retired_at),
  ...present('graceFrom', row.grace_from),
});

export const flowKeyRow = z.object(flowKeyColumns).transform(flowKeyOf);

/** A row of `prestabot.list_flow_keys`: a key with its tenant. */
export const tenantFlowKeyRow = z
  .object({ ...flowKeyColumns, tenant_id: branded<TenantId>() })
  .transform((row) => ({ ...flowKeyOf(row), tenantId: row.tenant_id }));

export const registeredAppRow = z
  .object({
    id: branded<AppId>(),
    meta_app_id: branded<MetaAppId>().nullable(),
    secret_key_id: z.string(),
    secret_ciphertext: z.string(),
  })
  .transform(
    (row): RegisteredApp => ({
      id: row.id,
      secret: { keyId: row.secret_key_id, ciphertext: row.secret_ciphertext },
      ...present('metaAppId', row.meta_app_id),
    }),
  );

export const queueDepthRow = z
  .object({ pending: z.number().int(), oldest_at: storedTime.nullable(), held: z.number().int().nullish() })
  .transform(
    (row): QueueDepth => ({
      pending: row.pending,
      ...present('oldestAt', row.oldest_at),
      ...present('held', row.held ?? null),
    }),
  );

/** A row of `prestabot.messaging_limit_room`: NULL when the message would not be held at all. */
export const messagingLimitRoomRow = z
  .object({ room: z.number().int().nullable() })
  .transform((row) => row.room ?? undefined);

export const prunedRowsRow = z
  .object({ pruned_inbox: z.number().int(), pruned_outbox: z.number().int() })
  .transform((row): PrunedRows => ({ inbox: row.pruned_inbox, outbox: row.pruned_outbox }));

export const lastInboundRow = z
  .object({ last_at: storedTime.nullable() })
  .transform((row) => row.last_at ?? undefined);

export const idRow = z.object({ id: z.string() }).transform((row) => row.id);

export const appIdRow = z.object({ id: branded<AppId>() }).transform((row) => row.id);

/** The ids an INSERT … RETURNING stored, in the order they were given: RETURNING promises none. */
export const inInputOrder = (
  given: readonly { readonly id: string }[],
  stored: readonly string[],
): string[] => {
  const storedIds = new Set(stored);
  return given.map((entry) => entry.id).filter((id) => storedIds.has(id));
};

// --------------------------------------------------------------------------------------------- catalog

export const ledgerRow = z.object({ name: z.string(), checksum: z.string() });

export const versionRow = z.object({ version: z.string() }).transform((row) => row.version);

export const bypassRow = z.object({ bypasses: z.boolean() }).transform((row) => row.bypasses);

export const loginRow = z.object({ name: z.string(), privileged: z.boolean() });

export const tableRow = z
  .object({
    table: z.string(),
    tenant_owned: z.boolean(),
    row_security_enabled: z.boolean(),
    row_security_forced: z.boolean(),
    policies: z.number().int(),
  })
  .transform(
    (row): TableIsolation => ({
      table: row.table,
      tenantOwned: row.tenant_owned,
      rowSecurityEnabled: row.row_security_enabled,
      rowSecurityForced: row.row_security_forced,
      policies: row.policies,
    }),
  );

export const roleRow = z
  .object({
    superuser: z.boolean(),
    bypasses_row_security: z.boolean(),
    can_login: z.boolean(),
    owned_objects: z.number().int(),
    member_of: z.array(z.string()),
  })
  .transform(
    (row): ApplicationRoleStatus => ({
      name: applicationRole,
      exists: true,
      superuser: row.superuser,
      bypassesRowSecurity: row.bypasses_row_security,
      canLogin: row.can_login,
      ownedObjects: row.owned_objects,
      memberOf: row.member_of,
    }),
  );

// --------------------------------------------------------------------------------------------- reading

/** Names what did not match, never the values: a row may hold a secret or a person's message. */
const shapeError = (what: string, error: z.ZodError): StorageError =>
  storageError(
    'unexpected',
    `a ${what} row read back does not have the expected shape (${error.issues
      .map((issue) => `${issue.path.join('.') || '(row)'}: ${issue.code}`)
      .join('; ')})`,
  );

/** Validates every row into its domain value. */
export const readRows =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<readonly T[], StorageError> => {
    const values: T[] = [];
    for (const row of rows) {
      const parsed = schema.safeParse(row);
      if (!parsed.success) return err(shapeError(what, parsed.error));
      values.push(parsed.data);
    }
    return ok(values);
  };

/** The database's clock (`SELECT clock_timestamp() AS now`). */
export const databaseTimeRow = z.object({ now: storedTime }).transform((row) => row.now);

/** A row that failed its schema: its key, and why, for quarantine. */
export type UnreadableRow = { readonly id: string; readonly tenantId: string; readonly reason: string };

/**
 * Validates each row on its own: one row of a shape this version cannot read does not hide the others
 * (a claim quarantines it and hands out the rest).
 */
export const readEachRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (
    rows: readonly SqlRow[],
  ): { readonly read: readonly T[]; readonly unreadable: readonly UnreadableRow[] } => {
    const read: T[] = [];
    const unreadable: UnreadableRow[] = [];
    for (const row of rows) {
      const parsed = schema.safeParse(row);
      if (parsed.success) read.push(parsed.data);
      else
        unreadable.push({
          id: String(row.id),
          tenantId: String(row.tenant_id),
          reason: shapeError(what, parsed.error).message,
        });
    }
    return { read, unreadable };
  };

/** The one row a query returns, or undefined when it returns none. */
export const readOptionalRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<T | undefined, StorageError> =>
    readRows(schema, what)(rows).map((values) => values[0]);

/** The one row a query must return. */
export const readRow =
  <T>(schema: z.ZodType<T>, what: string) =>
  (rows: readonly SqlRow[]): Result<T, StorageError> =>
    rows.length === 0
      ? err(storageError('unexpected', `no ${what} row was returned`))
      : readRows(schema, what)(rows).map((values) => values[0]!);
