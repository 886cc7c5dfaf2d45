import type { WebhookDeliveryStatus } from './delivery-status.ts';
import type { GraphErrorDetail } from './graph-error.ts';
import type { PhoneNumberId, WabaId, Wamid } from './ids.ts';
import type { AccountEvent } from './meta-view.ts';

export type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export type SharedContactCard = {
  readonly formattedName: string;
  readonly phones: readonly { readonly phone: string; readonly waId?: string; readonly type?: string }[];
};

/** What a person sent, by type. Anything we cannot read yet is `unsupported`, never dropped. */
export type InboundContent =
  | { readonly type: 'text'; readonly body: string }
  | { readonly type: 'button_reply'; readonly id: string; readonly title: string }
  | {
      readonly type: 'list_reply';
      readonly id: string;
      readonly title: string;
      readonly description?: string;
    }
  /** A WhatsApp Flow completion (`nfm_reply`); `responseJson` is the raw JSON string Meta sends. */
  | {
      readonly type: 'flow_reply';
      readonly name: string;
      readonly responseJson: string;
      readonly body?: string;
    }
  /** A tap on a template quick-reply button; `payload` is what we set when sending the template. */
  | { readonly type: 'quick_reply'; readonly text: string; readonly payload: string }
  | {
      readonly type: 'media';
      readonly mediaType: MediaType;
      readonly mediaId: string;
      readonly mimeType?: string;
      readonly caption?: string;
      readonly filename?: string;
    }
  | {
      readonly type: 'location';
      readonly latitude: number;
      readonly longitude: number;
      readonly name?: string;
      readonly address?: string;
    }
  | { readonly type: 'contacts'; readonly cards: readonly SharedContactCard[] }
  /** `emoji` is absent when the user removed their reaction. */
  | { readonly type: 'reaction'; readonly messageId: Wamid; readonly emoji?: string }
  /** The user opened the chat for the first time. */
  | { readonly type: 'welcome_request' }
  /** Meta's notice that the user changed number or user id; no content to answer. */
  | { readonly type: 'system'; readonly event: string; readonly body?: string }
  | {
      readonly type: 'unsupported';
      readonly originalType: string;
      readonly errors: readonly GraphErrorDetail[];
    };

/** Who sent a message: Meta gives the phone (`wa_id`), a business-scoped user id, or both. */
export type Sender = {
  readonly waId?: string;
  readonly userId?: string;
  readonly profileName?: string;
};

type ItemRouting = {
  /** Routing key: the number the item belongs to. */
  readonly phoneNumberId: PhoneNumberId;
  readonly displayPhoneNumber?: string;
  readonly wabaId: WabaId;
};

export type InboundMessage = ItemRouting & {
  readonly kind: 'message';
  readonly wamid: Wamid;
  readonly from: Sender;
  /** When the user sent it (Meta's timestamp); the 24-hour window counts from here. */
  readonly sentAt: Date;
  /** The message this one replies to, e.g. our interactive message. */
  readonly replyTo?: Wamid;
  readonly content: InboundContent;
};

export type InboundStatus = ItemRouting & {
  readonly kind: 'status';
  readonly wamid: Wamid;
  readonly status: WebhookDeliveryStatus;
  readonly at: Date;
  readonly recipient: Sender;
  readonly errors: readonly GraphErrorDetail[];
  readonly bizOpaqueCallbackData?: string;
  /** What Meta charges for the message, as its statuses report it (`failed` carries none). */
  readonly pricing?: StatusPricing;
};

/**
 * A status's `pricing`: whether Meta bills the message, under which model (`PMP` per message, or the
 * older `CBP` per conversation), its price type (`regular`, `free_customer_service`, `free_entry_point`)
 * and category (`marketing`, `utility`, `authentication`, `service`, …).
 */
export type StatusPricing = {
  readonly billable: boolean;
  readonly pricingModel: string;
  readonly type?: string;
  readonly category: string;
};

/** An error Meta sends about a number, not tied to one message. */
export type InboundNumberError = ItemRouting & {
  readonly kind: 'error';
  readonly errors: readonly GraphErrorDetail[];
};

export type WebhookItem = InboundMessage | InboundStatus | InboundNumberError;

/** A change of another field (`account_update`, `message_template_status_update`, …) we do not act on. */
export type IgnoredChange = { readonly field: string; readonly wabaId: string };

/** An item Meta sent that we could not read (a required field missing); logged, never silently lost. */
export type RejectedItem = { readonly path: string; readonly reason: string };

/** Everything one webhook delivery carried, every entry, change, message, status and error of it. */
export type WebhookBatch = {
  readonly items: readonly WebhookItem[];
  /** Account fields about the WABA's numbers (quality, limits), applied without going through the inbox. */
  readonly accountEvents?: readonly AccountEvent[];
  readonly ignored: readonly IgnoredChange[];
  readonly rejected: readonly RejectedItem[];
};

/**
 * The idempotency key of an item within its number: a message by its wamid, a status by wamid and
 * status (the same wamid reports several statuses).
 */
export const deliveryKeyOf = (item: InboundMessage | InboundStatus): string =>
  item.kind === 'message' ? item.wamid : `${item.wamid}#${item.status}`;
