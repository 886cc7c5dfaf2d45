import type {
  GraphErrorDetail,
  InboundContent,
  InboundMessage,
  InboundNumberError,
  InboundStatus,
  Sender,
  WebhookItem,
} from '@prestabot/domain';
import { defined } from '@prestabot/domain';

type Json = { readonly [key: string]: unknown };

/** Unix seconds as a string: Meta's timestamp format. */
const timestampOf = (at: Date): string => String(Math.floor(at.getTime() / 1000));

type Change = {
  readonly phoneNumberId: string;
  readonly kind: 'messages' | 'statuses' | 'errors';
  readonly items: WebhookItem[];
};

/**
 * One webhook body (§2 of the Cloud API reference) carrying `items`: an entry per WABA, a change per number
 * and kind (a value holds messages or statuses, never both), every item of a kind in one array.
 */
export const webhookPayloadOf = (items: readonly WebhookItem[]): Json => {
  const entries = new Map<string, Map<string, Change>>();
  for (const item of items) {
    const kind = item.kind === 'message' ? 'messages' : item.kind === 'status' ? 'statuses' : 'errors';
    const changes = entries.get(item.wabaId) ?? new Map<string, Change>();
    entries.set(item.wabaId, changes);
    const key = `${item.phoneNumberId}|${kind}`;
    const change = changes.get(key) ?? { phoneNumberId: item.phoneNumberId, kind, items: [] };
    changes.set(key, change);
    change.items.push(item);
  }
  return {
    object: 'whatsapp_business_account',
    entry: [...entries].map(([wabaId, changes]) => ({
      id: wabaId,
      changes: [...changes.values()].map((change) => ({ field: 'messages', value: changeValueOf(change) })),
    })),
  };
};

const changeValueOf = (change: Change): Json => {
  const [first] = change.items;
  const metadata = {
    display_phone_number: first?.displayPhoneNumber ?? '',
    phone_number_id: change.phoneNumberId,
  };
  const base = { messaging_product: 'whatsapp', metadata };
  switch (change.kind) {
    case 'messages': {
      const messages = change.items as InboundMessage[];
      // System messages come without contacts.
      const senders = messages
        .filter((message) => message.content.type !== 'system')
        .map((message) => message.from);
      return {
        ...base,
        ...(senders.length === 0 ? {} : { contacts: uniqueSenders(senders).map(contactOf) }),
        messages: messages.map(messageOf),
      };
    }
    case 'statuses':
      return { ...base, statuses: (change.items as InboundStatus[]).map(statusOf) };
    case 'errors':
      return {
        ...base,
        errors: (change.items as InboundNumberError[]).flatMap((item) => item.errors.map(errorOf)),
      };
  }
};

const uniqueSenders = (senders: readonly Sender[]): Sender[] => {
  const seen = new Map<string, Sender>();
  for (const sender of senders) seen.set(`${sender.waId ?? ''}|${sender.userId ?? ''}`, sender);
  return [...seen.values()];
};

const contactOf = (sender: Sender): Json => ({
  ...(sender.profileName === undefined ? {} : { profile: { name: sender.profileName } }),
  ...defined({ wa_id: sender.waId, user_id: sender.userId }),
});

const errorOf = (error: GraphErrorDetail): Json => ({
  code: error.code,
  ...defined({ title: error.title, message: error.message, error_subcode: error.subcode }),
  ...(error.details === undefined ? {} : { error_data: { details: error.details } }),
  href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
});

const messageOf = (message: InboundMessage): Json => ({
  ...defined({ from: message.from.waId, from_user_id: message.from.userId }),
  id: message.wamid,
  timestamp: timestampOf(message.sentAt),
  ...(message.replyTo === undefined
    ? {}
    : { context: { from: message.displayPhoneNumber, id: message.replyTo } }),
  ...contentOf(message.content),
});

/** Where each kind of content sits in a Meta message: the inverse of the webhook parser. */
const contentOf = (content: InboundContent): Json => {
  switch (content.type) {
    case 'text':
      return { type: 'text', text: { body: content.body } };
    case 'button_reply':
      return interactive('button_reply', { id: content.id, title: content.title });
    case 'list_reply':
      return interactive('list_reply', {
        id: content.id,
        title: content.title,
        ...defined({ description: content.description }),
      });
    case 'flow_reply':
      return interactive('nfm_reply', {
        name: content.name,
        ...defined({ body: content.body }),
        response_json: content.responseJson,
      });
    case 'quick_reply':
      return { type: 'button', button: { text: content.text, payload: content.payload } };
    case 'media':
      return {
        type: content.mediaType,
        [content.mediaType]: {
          id: content.mediaId,
          ...defined({ mime_type: content.mimeType }),
          sha256: 'ZmFrZS1tZWRpYS1zaGEyNTY=',
          ...defined({ caption: content.caption, filename: content.filename }),
        },
      };
    case 'location':
      return {
        type: 'location',
        location: {
          latitude: content.latitude,
          longitude: content.longitude,
          ...defined({ name: content.name, address: content.address }),
        },
      };
    case 'contacts':
      return {
        type: 'contacts',
        contacts: content.cards.map((card) => ({
          name: { formatted_name: card.formattedName },
          phones: card.phones.map((phone) => ({
            phone: phone.phone,
            ...defined({ wa_id: phone.waId, type: phone.type }),
          })),
        })),
      };
    case 'reaction':
      return {
        type: 'reaction',
        reaction: { message_id: content.messageId, ...defined({ emoji: content.emoji }) },
      };
    case 'welcome_request':
      return { type: 'request_welcome' };
    case 'system':
      return { type: 'system', system: { type: content.event, ...defined({ body: content.body }) } };
    case 'unsupported': {
      const errors = content.errors.map(errorOf);
      // The parser names an unknown interactive reply `interactive.<type>`.
      const [kind, subtype] = content.originalType.split('.', 2);
      return kind === 'interactive' && subtype !== undefined
        ? { type: 'interactive', interactive: { type: subtype }, errors }
        : { type: content.originalType, errors };
    }
  }
};

const interactive = (type: string, reply: Json): Json => ({
  type: 'interactive',
  interactive: { type, [type]: reply },
});

const statusOf = (status: InboundStatus): Json => ({
  id: status.wamid,
  status: status.status,
  timestamp: timestampOf(status.at),
  ...defined({
    recipient_id: status.recipient.waId,
    recipient_user_id: status.recipient.userId,
    biz_opaque_callback_data: status.bizOpaqueCallbackData,
  }),
  ...(status.errors.length === 0 ? {} : { errors: status.errors.map(errorOf) }),
  ...(status.pricing === undefined
    ? {}
    : {
        conversation: {
          id: `conversation-${status.recipient.waId ?? status.recipient.userId ?? ''}`,
          origin: { type: status.pricing.category },
        },
        pricing: {
          billable: status.pricing.billable,
          pricing_model: status.pricing.pricingModel,
          ...defined({ type: status.pricing.type }),
          category: status.pricing.category,
        },
      }),
});
