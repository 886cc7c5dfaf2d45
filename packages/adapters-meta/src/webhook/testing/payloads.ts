import { defined } from '@prestabot/domain';
// Webhook payloads shaped like Meta's (§2 of the Cloud API reference), for tests and the Graph fake.

export type Json = Record<string, unknown>;

export type TestNumber = { readonly phoneNumberId: string; readonly displayPhoneNumber: string };

export const wabaId = '102290129340398';
export const otherWabaId = '109876543210987';
export const numberA: TestNumber = { phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' };
export const numberB: TestNumber = { phoneNumberId: '113355779900112', displayPhoneNumber: '15550001111' };
export const customerWaId = '5511999990000';
export const customerUserId = 'BR.13491208655302741918';
/** 2025-06-25T13:16:24Z */
export const sentAtSeconds = '1750857384';

export const webhookPayload = (...entries: readonly Json[]): Json => ({
  object: 'whatsapp_business_account',
  entry: entries,
});

export const wabaEntry = (id: string, ...changes: readonly Json[]): Json => ({ id, changes });

export const messagesChange = (number: TestNumber, value: Json): Json => ({
  field: 'messages',
  value: {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: number.displayPhoneNumber, phone_number_id: number.phoneNumberId },
    ...value,
  },
});

export const contactOf = (waId: string, name: string, userId?: string): Json => ({
  profile: { name },
  wa_id: waId,
  ...defined({ user_id: userId }),
});

const messageOf = (id: string, type: string, body: Json): Json => ({
  from: customerWaId,
  id,
  timestamp: sentAtSeconds,
  type,
  ...body,
});

const errorDetail = (code: number, title: string, details: string): Json => ({
  code,
  title,
  message: title,
  error_data: { details },
});

/** One realistic message of every type Meta sends, by a name the tests use. */
export const wireMessages = {
  text: (id: string) => messageOf(id, 'text', { text: { body: 'Hola, ¿cuánto te debo?' } }),
  buttonReply: (id: string) =>
    messageOf(id, 'interactive', {
      context: {
        from: numberA.displayPhoneNumber,
        id: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA',
      },
      interactive: { type: 'button_reply', button_reply: { id: 'menu:new-loan', title: 'New loan' } },
    }),
  listReply: (id: string) =>
    messageOf(id, 'interactive', {
      interactive: {
        type: 'list_reply',
        list_reply: { id: 'loan:42', title: 'Loan to Ana', description: 'R$ 150,00 · due 2026-12-01' },
      },
    }),
  flowReply: (id: string) =>
    messageOf(id, 'interactive', {
      interactive: {
        type: 'nfm_reply',
        nfm_reply: {
          name: 'flow',
          body: 'Sent',
          response_json: '{"flow_token":"tok-123","amount":"150.00"}',
        },
      },
    }),
  quickReply: (id: string) =>
    messageOf(id, 'button', { button: { text: 'Yes, I paid', payload: 'ACK-123' } }),
  image: (id: string) =>
    messageOf(id, 'image', {
      image: {
        caption: 'Receipt',
        mime_type: 'image/jpeg',
        sha256: 'G6b7bS7hjBcV+1s1YhQmO4m0u7r3Ew2m5vRk0q9HcVY=',
        id: '1479537139650973',
      },
    }),
  video: (id: string) =>
    messageOf(id, 'video', { video: { mime_type: 'video/mp4', sha256: 'abc=', id: '1479537139650974' } }),
  audio: (id: string) =>
    messageOf(id, 'audio', {
      audio: { mime_type: 'audio/ogg; codecs=opus', sha256: 'abc=', id: '1479537139650975', voice: true },
    }),
  document: (id: string) =>
    messageOf(id, 'document', {
      document: {
        caption: 'Contract',
        filename: 'contract.pdf',
        mime_type: 'application/pdf',
        sha256: 'abc=',
        id: '1479537139650976',
      },
    }),
  sticker: (id: string) =>
    messageOf(id, 'sticker', {
      sticker: { mime_type: 'image/webp', sha256: 'abc=', id: '1479537139650977', animated: false },
    }),
  location: (id: string) =>
    messageOf(id, 'location', {
      location: { latitude: -23.5505, longitude: -46.6333, name: 'Praça da Sé', address: 'São Paulo, SP' },
    }),
  contacts: (id: string) =>
    messageOf(id, 'contacts', {
      contacts: [
        {
          name: { formatted_name: 'Ana Souza', first_name: 'Ana', last_name: 'Souza' },
          phones: [{ phone: '+55 11 99999-0001', wa_id: '5511999990001', type: 'CELL' }],
          emails: [{ email: 'ana@example.com', type: 'WORK' }],
        },
      ],
    }),
  reaction: (id: string) =>
    messageOf(id, 'reaction', {
      reaction: { message_id: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYA', emoji: '👍' },
    }),
  reactionRemoved: (id: string) =>
    messageOf(id, 'reaction', { reaction: { message_id: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYA' } }),
  welcomeRequest: (id: string) => messageOf(id, 'request_welcome', {}),
  system: (id: string) =>
    messageOf(id, 'system', {
      system: {
        body: 'Ana changed their phone number to a new number',
        new_wa_id: '5511999990002',
        type: 'user_changed_number',
      },
    }),
  unsupported: (id: string) =>
    messageOf(id, 'unsupported', {
      errors: [errorDetail(131051, 'Message type unknown', 'Message type is currently not supported.')],
      unsupported: { type: 'poll' },
    }),
  unknown: (id: string) =>
    messageOf(id, 'unknown', {
      errors: [
        {
          code: 130501,
          details: 'Message type is not currently supported',
          title: 'Unsupported message type',
        },
      ],
    }),
  order: (id: string) =>
    messageOf(id, 'order', {
      order: {
        catalog_id: '123456',
        text: 'Please send these',
        product_items: [{ product_retailer_id: 'sku-1', quantity: 2, item_price: 10, currency: 'BRL' }],
      },
    }),
} satisfies Record<string, (id: string) => Json>;

export type WireMessageKind = keyof typeof wireMessages;
export const wireMessageKinds = Object.keys(wireMessages) as WireMessageKind[];

export const wireStatus = (id: string, status: string): Json => ({
  id,
  status,
  timestamp: sentAtSeconds,
  recipient_id: customerWaId,
  ...(status === 'failed'
    ? {
        errors: [
          {
            ...errorDetail(
              131047,
              'Re-engagement message',
              'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
            ),
            href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
          },
        ],
      }
    : {
        conversation: { id: 'c0ffee', origin: { type: 'service' } },
        pricing: {
          billable: false,
          pricing_model: 'PMP',
          type: 'free_customer_service',
          category: 'service',
        },
      }),
});

export const wireNumberErrors: readonly Json[] = [
  errorDetail(131008, 'Required parameter is missing', 'The phone number is not registered.'),
];

/** A text message from anyone, for tests that need many senders. */
export const wireTextFrom = (from: string, id: string, body: string, timestamp = sentAtSeconds): Json => ({
  from,
  id,
  timestamp,
  type: 'text',
  text: { body },
});

/** The simplest delivery: one text message from the customer to `number`, as Meta posts it. */
export const oneTextPayload = (number: TestNumber, wamid = 'wamid.T1'): Json =>
  webhookPayload(
    wabaEntry(
      wabaId,
      messagesChange(number, {
        contacts: [contactOf(customerWaId, 'Ana')],
        messages: [wireMessages.text(wamid)],
      }),
    ),
  );

export const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
