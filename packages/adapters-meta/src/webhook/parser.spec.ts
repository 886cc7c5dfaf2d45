import type { InboundContent, WebhookBatch } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { ZodWebhookParser } from './parser.ts';
import {
  contactOf,
  customerUserId,
  customerWaId,
  encodeJson,
  type Json,
  messagesChange,
  numberA,
  numberB,
  otherWabaId,
  sentAtSeconds,
  type WireMessageKind,
  wabaEntry,
  wabaId,
  webhookPayload,
  wireMessages,
  wireNumberErrors,
  wireStatus,
  wireTextFrom,
} from './testing/payloads.ts';

const parser = new ZodWebhookParser();
const sentAt = new Date(Number(sentAtSeconds) * 1000);
const wamid = 'wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYFDNBMDRGQjE1QjhGN0I4QjY5RjA5AA==';

const parseOk = (payload: unknown): WebhookBatch => parser.parse(encodeJson(payload))._unsafeUnwrap();

const parseSingleMessage = (message: Json, contacts: readonly Json[] = [contactOf(customerWaId, 'Ana')]) =>
  parseOk(webhookPayload(wabaEntry(wabaId, messagesChange(numberA, { contacts, messages: [message] }))));

const contentOf = (kind: WireMessageKind): InboundContent => {
  const batch = parseSingleMessage(wireMessages[kind](wamid));
  expect(batch.rejected).toEqual([]);
  const [item] = batch.items;
  if (item?.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(batch)}`);
  return item.content;
};

describe('ZodWebhookParser: messages', () => {
  it('reads a text message with its routing, sender profile and timestamp', () => {
    const batch = parseSingleMessage(wireMessages.text(wamid));

    expect(batch).toEqual({
      items: [
        {
          kind: 'message',
          phoneNumberId: numberA.phoneNumberId,
          displayPhoneNumber: numberA.displayPhoneNumber,
          wabaId,
          wamid,
          from: { waId: customerWaId, profileName: 'Ana' },
          sentAt,
          content: { type: 'text', body: 'Hola, ¿cuánto te debo?' },
        },
      ],
      ignored: [],
      rejected: [],
    });
  });

  it('reads a button reply and the message it answers', () => {
    const [item] = parseSingleMessage(wireMessages.buttonReply(wamid)).items;

    expect(item).toMatchObject({
      replyTo: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA',
      content: { type: 'button_reply', id: 'menu:new-loan', title: 'New loan' },
    });
  });

  it.each<[WireMessageKind, InboundContent]>([
    [
      'listReply',
      { type: 'list_reply', id: 'loan:42', title: 'Loan to Ana', description: 'R$ 150,00 · due 2026-12-01' },
    ],
    [
      'flowReply',
      {
        type: 'flow_reply',
        name: 'flow',
        body: 'Sent',
        responseJson: '{"flow_token":"tok-123","amount":"150.00"}',
      },
    ],
    ['quickReply', { type: 'quick_reply', text: 'Yes, I paid', payload: 'ACK-123' }],
    [
      'image',
      {
        type: 'media',
        mediaType: 'image',
        mediaId: '1479537139650973',
        mimeType: 'image/jpeg',
        caption: 'Receipt',
      },
    ],
    ['video', { type: 'media', mediaType: 'video', mediaId: '1479537139650974', mimeType: 'video/mp4' }],
    [
      'audio',
      { type: 'media', mediaType: 'audio', mediaId: '1479537139650975', mimeType: 'audio/ogg; codecs=opus' },
    ],
    [
      'document',
      {
        type: 'media',
        mediaType: 'document',
        mediaId: '1479537139650976',
        mimeType: 'application/pdf',
        caption: 'Contract',
        filename: 'contract.pdf',
      },
    ],
    ['sticker', { type: 'media', mediaType: 'sticker', mediaId: '1479537139650977', mimeType: 'image/webp' }],
    [
      'location',
      {
        type: 'location',
        latitude: -23.5505,
        longitude: -46.6333,
        name: 'Praça da Sé',
        address: 'São Paulo, SP',
      },
    ],
    [
      'contacts',
      {
        type: 'contacts',
        cards: [
          {
            formattedName: 'Ana Souza',
            phones: [{ phone: '+55 11 99999-0001', waId: '5511999990001', type: 'CELL' }],
          },
        ],
      },
    ],
    [
      'reaction',
      { type: 'reaction', messageId: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYA' as never, emoji: '👍' },
    ],
    [
      'reactionRemoved',
      { type: 'reaction', messageId: 'wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBQkNERUYA' as never },
    ],
    ['welcomeRequest', { type: 'welcome_request' }],
    [
      'system',
      {
        type: 'system',
        event: 'user_changed_number',
        body: 'Ana changed their phone number to a new number',
      },
    ],
    [
      'unsupported',
      {
        type: 'unsupported',
        originalType: 'unsupported',
        errors: [
          {
            code: 131051,
            title: 'Message type unknown',
            message: 'Message type unknown',
            details: 'Message type is currently not supported.',
          },
        ],
      },
    ],
    [
      'unknown',
      {
        type: 'unsupported',
        originalType: 'unknown',
        errors: [
          {
            code: 130501,
            title: 'Unsupported message type',
            details: 'Message type is not currently supported',
          },
        ],
      },
    ],
    ['order', { type: 'unsupported', originalType: 'order', errors: [] }],
  ])('reads a %s message', (kind, expected) => {
    expect(contentOf(kind)).toEqual(expected);
  });

  it('treats an empty reaction emoji as a removed reaction', () => {
    const message = {
      ...wireMessages.reaction(wamid),
      reaction: { message_id: 'wamid.ABC', emoji: '' },
    };

    expect(parseSingleMessage(message).items[0]).toMatchObject({
      content: { type: 'reaction', messageId: 'wamid.ABC' },
    });
    expect(parseSingleMessage(message).items[0]).not.toHaveProperty('content.emoji');
  });

  it('accepts coordinates sent as numeric strings and a numeric timestamp', () => {
    const message = {
      ...wireMessages.location(wamid),
      timestamp: Number(sentAtSeconds),
      location: { latitude: '-23.5505', longitude: '-46.6333' },
    };

    expect(parseSingleMessage(message).items[0]).toMatchObject({
      sentAt,
      content: { type: 'location', latitude: -23.5505, longitude: -46.6333 },
    });
  });

  it('keeps an interactive reply of a kind it does not know as unsupported', () => {
    const message = {
      ...wireMessages.buttonReply(wamid),
      interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept' } },
    };

    expect(parseSingleMessage(message).items[0]).toMatchObject({
      content: { type: 'unsupported', originalType: 'interactive.call_permission_reply', errors: [] },
    });
  });

  it('reads a sender known only by business-scoped user id', () => {
    const { from: _phone, ...message }: Json = { ...wireMessages.text(wamid), from_user_id: customerUserId };
    const contact = { profile: { name: 'Ana', username: '@ana' }, user_id: customerUserId };

    expect(parseSingleMessage(message, [contact]).items[0]).toMatchObject({
      from: { userId: customerUserId, profileName: 'Ana' },
    });
    expect(parseSingleMessage(message, [contact]).items[0]).not.toHaveProperty('from.waId');
  });

  it('takes the user id from the contact that matches the sender phone', () => {
    const contacts = [contactOf('5511888880000', 'Bruno'), contactOf(customerWaId, 'Ana', customerUserId)];

    expect(parseSingleMessage(wireMessages.text(wamid), contacts).items[0]).toMatchObject({
      from: { waId: customerWaId, userId: customerUserId, profileName: 'Ana' },
    });
  });

  it('reads a message without contacts (system messages carry none)', () => {
    expect(parseSingleMessage(wireMessages.system(wamid), []).items[0]).toMatchObject({
      from: { waId: customerWaId },
      content: { type: 'system' },
    });
  });
});

describe('ZodWebhookParser: statuses and number errors', () => {
  it.each(['sent', 'delivered', 'read', 'played'])('reads a %s status with its pricing', (status) => {
    const change = messagesChange(numberA, {
      statuses: [{ ...wireStatus(wamid, status), biz_opaque_callback_data: 'outbox:42' }],
    });

    expect(parseOk(webhookPayload(wabaEntry(wabaId, change))).items).toEqual([
      {
        kind: 'status',
        phoneNumberId: numberA.phoneNumberId,
        displayPhoneNumber: numberA.displayPhoneNumber,
        wabaId,
        wamid,
        status,
        at: sentAt,
        recipient: { waId: customerWaId },
        errors: [],
        bizOpaqueCallbackData: 'outbox:42',
        pricing: {
          billable: false,
          pricingModel: 'PMP',
          type: 'free_customer_service',
          category: 'service',
        },
      },
    ]);
  });

  it("reads a billable status's pricing, and drops a pricing it cannot read without losing the status", () => {
    const priced = (pricing: unknown) =>
      parseOk(
        webhookPayload(
          wabaEntry(
            wabaId,
            messagesChange(numberA, { statuses: [{ ...wireStatus(wamid, 'sent'), pricing }] }),
          ),
        ),
      ).items[0];

    expect(
      priced({ billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' }),
    ).toMatchObject({
      pricing: { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' },
    });
    // Before July 2025 Meta priced conversations (CBP) and sent no `type`.
    expect(priced({ billable: true, pricing_model: 'CBP', category: 'marketing' })).toMatchObject({
      pricing: { billable: true, pricingModel: 'CBP', category: 'marketing' },
    });
    const unreadable = priced({ billable: 'yes', category: 'utility' });
    expect(unreadable).toMatchObject({ kind: 'status', status: 'sent' });
    expect(unreadable).not.toHaveProperty('pricing');
  });

  it('reads a failed status with error 131047 and its details', () => {
    const change = messagesChange(numberA, { statuses: [wireStatus(wamid, 'failed')] });

    expect(parseOk(webhookPayload(wabaEntry(wabaId, change))).items[0]).toMatchObject({
      kind: 'status',
      status: 'failed',
      errors: [
        {
          code: 131047,
          title: 'Re-engagement message',
          message: 'Re-engagement message',
          details:
            'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
        },
      ],
    });
  });

  it('reads the recipient of a status sent to a business-scoped user id', () => {
    const { recipient_id: _phone, ...status }: Json = {
      ...wireStatus(wamid, 'read'),
      recipient_user_id: customerUserId,
    };
    const change = messagesChange(numberA, { statuses: [status] });

    expect(parseOk(webhookPayload(wabaEntry(wabaId, change))).items[0]).toMatchObject({
      recipient: { userId: customerUserId },
    });
  });

  it('rejects a status it does not know, keeping the others', () => {
    const change = messagesChange(numberA, {
      statuses: [wireStatus(wamid, 'deleted'), wireStatus(wamid, 'read')],
    });

    const batch = parseOk(webhookPayload(wabaEntry(wabaId, change)));

    expect(batch.items).toMatchObject([{ kind: 'status', status: 'read' }]);
    expect(batch.rejected).toEqual([
      { path: 'entry[0].changes[0].value.statuses[0]', reason: expect.any(String) },
    ]);
  });

  it('reads value-level errors as one number error per change', () => {
    const change = messagesChange(numberB, { errors: wireNumberErrors });

    expect(parseOk(webhookPayload(wabaEntry(wabaId, change))).items).toEqual([
      {
        kind: 'error',
        phoneNumberId: numberB.phoneNumberId,
        displayPhoneNumber: numberB.displayPhoneNumber,
        wabaId,
        errors: [
          {
            code: 131008,
            title: 'Required parameter is missing',
            message: 'Required parameter is missing',
            details: 'The phone number is not registered.',
          },
        ],
      },
    ]);
  });
});

describe('ZodWebhookParser: batches', () => {
  it('reads every entry, change, message and status, across two numbers and two WABAs', () => {
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        messagesChange(numberA, {
          contacts: [contactOf(customerWaId, 'Ana')],
          messages: [wireMessages.text('wamid.A1'), wireMessages.image('wamid.A2')],
        }),
        messagesChange(numberB, {
          statuses: [wireStatus('wamid.B1', 'delivered'), wireStatus('wamid.B1', 'read')],
        }),
        { field: 'security', value: { event: 'PIN_CHANGED' } },
      ),
      wabaEntry(otherWabaId, messagesChange(numberB, { messages: [wireMessages.buttonReply('wamid.B2')] })),
    );

    const batch = parseOk(payload);

    expect(batch.items.map((item) => [item.kind, item.phoneNumberId, item.wabaId])).toEqual([
      ['message', numberA.phoneNumberId, wabaId],
      ['message', numberA.phoneNumberId, wabaId],
      ['status', numberB.phoneNumberId, wabaId],
      ['status', numberB.phoneNumberId, wabaId],
      ['message', numberB.phoneNumberId, otherWabaId],
    ]);
    expect(batch.ignored).toEqual([{ field: 'security', wabaId }]);
    expect(batch.rejected).toEqual([]);
  });

  it('reads the account fields and ignores changes of other fields', () => {
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        { field: 'account_update', value: { event: 'VERIFIED_ACCOUNT' } },
        { field: 'flows', value: {} },
        {
          field: 'phone_number_quality_update',
          value: { display_phone_number: '15550783881', event: 'FLAGGED', current_limit: 'TIER_10K' },
        },
        {
          field: 'phone_number_quality_update',
          value: {
            display_phone_number: '15550783881',
            event: 'DOWNGRADE',
            old_limit: 'TIER_10K',
            current_limit: 'TIER_2K',
            max_daily_conversations_per_business: 'TIER_250',
          },
        },
        {
          field: 'phone_number_quality_update',
          value: { display_phone_number: '15550783881', event: 'THROUGHPUT_UPGRADE', current_limit: 'HIGH' },
        },
        { field: 'business_capability_update', value: { max_daily_conversations_per_business: -1 } },
        { field: 'business_capability_update', value: { max_daily_conversations_per_business: 'TIER_2K' } },
        {
          field: 'message_template_status_update',
          value: {
            event: 'PAUSED',
            message_template_id: 594425479261596,
            message_template_name: 'recordatorio_prestamo',
            message_template_language: 'es_CL',
            reason: null,
          },
        },
        {
          field: 'template_category_update',
          value: {
            message_template_id: 594425479261596,
            message_template_name: 'recordatorio_prestamo',
            message_template_language: 'es_CL',
            previous_category: 'UTILITY',
            new_category: 'MARKETING',
          },
        },
        { field: 'security', value: { event: 'PIN_CHANGED' } },
      ),
    );

    expect(parseOk(payload)).toEqual({
      items: [],
      accountEvents: [
        { kind: 'account', wabaId, event: 'VERIFIED_ACCOUNT' },
        {
          kind: 'number_quality',
          wabaId,
          displayPhoneNumber: '15550783881',
          event: 'FLAGGED',
          messagingLimit: 10_000,
        },
        {
          kind: 'number_quality',
          wabaId,
          displayPhoneNumber: '15550783881',
          event: 'DOWNGRADE',
          messagingLimit: 250,
        },
        { kind: 'number_quality', wabaId, displayPhoneNumber: '15550783881', event: 'THROUGHPUT_UPGRADE' },
        { kind: 'business_capability', wabaId, messagingLimit: 'unlimited' },
        { kind: 'business_capability', wabaId, messagingLimit: 2000 },
        {
          kind: 'template_status',
          wabaId,
          name: 'recordatorio_prestamo',
          language: 'es_CL',
          event: 'PAUSED',
        },
        {
          kind: 'template_category',
          wabaId,
          name: 'recordatorio_prestamo',
          language: 'es_CL',
          previousCategory: 'UTILITY',
          newCategory: 'MARKETING',
        },
      ],
      ignored: [
        { field: 'flows', wabaId },
        { field: 'security', wabaId },
      ],
      rejected: [],
    });
  });

  it('rejects an account field it cannot read, alone', () => {
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        { field: 'business_capability_update', value: { max_daily_conversations_per_business: 'TIER_MANY' } },
        { field: 'phone_number_quality_update', value: { event: 'FLAGGED' } },
        { field: 'account_update', value: { event: 'DISABLED_UPDATE' } },
      ),
    );
    const batch = parseOk(payload);
    expect(batch.accountEvents).toEqual([{ kind: 'account', wabaId, event: 'DISABLED_UPDATE' }]);
    expect(batch.rejected.map((rejected) => rejected.path)).toEqual([
      'entry[0].changes[0].value',
      'entry[0].changes[1].value',
    ]);
  });

  it.each<[string, (message: Json) => unknown, string]>([
    [
      'without an id',
      ({ id: _id, ...message }) => message,
      'id: Invalid input: expected string, received undefined',
    ],
    [
      'with an empty id',
      (message) => ({ ...message, id: '' }),
      'wamid "" is invalid: expected a non-empty message id',
    ],
    [
      'with a bad timestamp',
      (message) => ({ ...message, timestamp: 'yesterday' }),
      'timestamp: Invalid string: must match pattern /^\\d{1,11}$/',
    ],
    [
      'without a sender',
      ({ from: _from, ...message }) => message,
      'neither from nor from_user_id is present',
    ],
    [
      'without its body',
      ({ text: _text, ...message }) => message,
      'text: Invalid input: expected object, received undefined',
    ],
    ['that is not an object', () => 'garbage', 'Invalid input: expected object, received string'],
  ])('rejects a message %s without dropping its siblings', (_case, breakMessage, reason) => {
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        messagesChange(numberA, { messages: [wireMessages.text('wamid.ok-1')] }),
        messagesChange(numberA, {
          messages: [
            wireMessages.text('wamid.ok-2'),
            wireMessages.text('wamid.ok-3'),
            breakMessage(wireMessages.text('x')),
          ],
        }),
      ),
    );

    const batch = parseOk(payload);

    expect(batch.items.map((item) => item.kind === 'message' && item.wamid)).toEqual([
      'wamid.ok-1',
      'wamid.ok-2',
      'wamid.ok-3',
    ]);
    expect(batch.rejected).toEqual([{ path: 'entry[0].changes[1].value.messages[2]', reason }]);
  });

  it('rejects every item of a change without a routing number, and only those', () => {
    const unrouted = {
      field: 'messages',
      value: {
        metadata: {},
        messages: [wireMessages.text('wamid.1')],
        statuses: [wireStatus('wamid.2', 'sent')],
      },
    };
    const payload = webhookPayload(
      wabaEntry(wabaId, unrouted, messagesChange(numberB, { messages: [wireMessages.text('wamid.3')] })),
    );

    const batch = parseOk(payload);

    expect(batch.items).toMatchObject([{ wamid: 'wamid.3' }]);
    expect(batch.rejected).toEqual([
      {
        path: 'entry[0].changes[0].value.messages[0]',
        reason: 'metadata.phone_number_id: Invalid input: expected string, received undefined',
      },
      {
        path: 'entry[0].changes[0].value.statuses[0]',
        reason: 'metadata.phone_number_id: Invalid input: expected string, received undefined',
      },
    ]);
  });

  it('rejects the items of an entry whose id is not a WABA id', () => {
    const payload = webhookPayload(
      wabaEntry('not-a-waba', messagesChange(numberA, { messages: [wireMessages.text('wamid.1')] })),
    );

    expect(parseOk(payload).rejected).toEqual([
      {
        path: 'entry[0].changes[0].value.messages[0]',
        reason: 'WABA id "not-a-waba" is invalid: expected digits only, as Meta shows it',
      },
    ]);
  });

  it('rejects a malformed entry, change or value on its own', () => {
    const payload = webhookPayload(
      { id: wabaId },
      wabaEntry(wabaId, { value: {} }, { field: 'messages', value: { messages: 'nope' } }),
      wabaEntry(wabaId, messagesChange(numberA, { messages: [wireMessages.text('wamid.1')] })),
    );

    const batch = parseOk(payload);

    expect(batch.items).toHaveLength(1);
    expect(batch.rejected.map(({ path }) => path)).toEqual([
      'entry[0]',
      'entry[1].changes[0]',
      'entry[1].changes[1].value',
    ]);
  });

  it('rejects value-level errors it cannot read', () => {
    const change = messagesChange(numberA, { errors: [{ title: 'no code' }] });

    expect(parseOk(webhookPayload(wabaEntry(wabaId, change))).rejected).toEqual([
      {
        path: 'entry[0].changes[0].value.errors',
        reason: '[0].code: Invalid input: expected number, received undefined',
      },
    ]);
  });

  it('reads a payload with no entries as an empty batch', () => {
    expect(parseOk(webhookPayload())).toEqual({ items: [], ignored: [], rejected: [] });
  });
});

describe('ZodWebhookParser: text PostgreSQL can store', () => {
  const lone = '\ud800';

  it('reads lone surrogate escapes in any string as U+FFFD, the message kept', () => {
    const message = { ...wireMessages.text(wamid), text: { body: `hola ${lone}` } };
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        messagesChange(
          { ...numberA, displayPhoneNumber: `1555${lone}` },
          { contacts: [contactOf(customerWaId, `Ana${lone}`)], messages: [message] },
        ),
      ),
    );
    // JSON.stringify writes a lone surrogate as the escape "\ud800", as a hostile sender would.
    expect(new TextDecoder().decode(encodeJson(payload))).toContain('\\ud800');

    const batch = parseOk(payload);

    expect(batch.rejected).toEqual([]);
    expect(batch.items[0]).toMatchObject({
      displayPhoneNumber: '1555\ufffd',
      from: { waId: customerWaId, profileName: 'Ana\ufffd' },
      content: { type: 'text', body: 'hola \ufffd' },
    });
  });

  it('reads a status id with a lone surrogate as U+FFFD', () => {
    const batch = parseOk(
      webhookPayload(
        wabaEntry(wabaId, messagesChange(numberA, { statuses: [wireStatus(`wamid.${lone}x`, 'read')] })),
      ),
    );

    expect(batch.items[0]).toMatchObject({ kind: 'status', wamid: 'wamid.\ufffdx' });
  });

  it('rejects a message whose sender id is 1 MiB long, with a short reason, and keeps its sibling', () => {
    const huge = '5'.repeat(1024 * 1024);
    const batch = parseOk(
      webhookPayload(
        wabaEntry(
          wabaId,
          messagesChange(numberA, {
            messages: [wireTextFrom(huge, 'wamid.huge', 'hola'), wireTextFrom(customerWaId, wamid, 'hola')],
          }),
        ),
      ),
    );

    expect(batch.items.map((item) => (item.kind === 'message' ? item.wamid : item.kind))).toEqual([wamid]);
    expect(batch.rejected).toHaveLength(1);
    expect(batch.rejected[0]?.path).toBe('entry[0].changes[0].value.messages[0]');
    expect(batch.rejected[0]?.reason.length).toBeLessThan(300);
  });

  it.each([
    ['from_user_id', { from: undefined, from_user_id: 'US.'.padEnd(200, '1') }],
    ['wamid', { id: `wamid.${'A'.repeat(600)}` }],
  ])('rejects a message whose %s is longer than any Meta sends, with a short reason', (_field, change) => {
    const message = { ...wireMessages.text(wamid), ...change };
    const batch = parseSingleMessage(message, []);

    expect(batch.items).toEqual([]);
    expect(batch.rejected[0]?.reason.length).toBeLessThan(300);
  });

  it('leaves out optional ids longer than any Meta sends instead of storing them', () => {
    const long = '1'.repeat(200);
    const payload = webhookPayload(
      wabaEntry(
        wabaId,
        messagesChange(
          { ...numberA, displayPhoneNumber: long },
          { contacts: [contactOf(customerWaId, 'Ana', long)], messages: [wireMessages.text(wamid)] },
        ),
        messagesChange(numberA, {
          statuses: [
            { ...wireStatus(wamid, 'read'), recipient_id: long, biz_opaque_callback_data: long.repeat(3) },
          ],
        }),
      ),
    );

    const [message, status] = parseOk(payload).items;

    expect(message).not.toHaveProperty('displayPhoneNumber');
    expect(message).not.toHaveProperty('from.userId');
    expect(status).not.toHaveProperty('recipient.waId');
    expect(status).not.toHaveProperty('bizOpaqueCallbackData');
  });

  it('cuts a profile name longer than WhatsApp allows, by whole characters', () => {
    const batch = parseSingleMessage(wireMessages.text(wamid), [contactOf(customerWaId, '😀'.repeat(1000))]);

    expect(batch.items[0]).toMatchObject({ from: { profileName: '😀'.repeat(128) } });
  });
});

describe('ZodWebhookParser: envelope errors', () => {
  const parseBytes = (bytes: Uint8Array) => parser.parse(bytes)._unsafeUnwrapErr();

  it('rejects bytes that are not UTF-8', () => {
    expect(parseBytes(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({ type: 'malformed_json' });
  });

  it('rejects text that is not JSON', () => {
    expect(parseBytes(new TextEncoder().encode('{"object":'))).toMatchObject({ type: 'malformed_json' });
  });

  it.each([['[]'], ['null'], ['"whatsapp_business_account"'], ['{"entry":[]}'], ['{"object":1,"entry":[]}']])(
    'rejects %s as an invalid payload',
    (json) => {
      expect(parseBytes(new TextEncoder().encode(json))).toMatchObject({ type: 'invalid_payload' });
    },
  );

  it('rejects another webhook object, naming it', () => {
    expect(parseBytes(encodeJson({ object: 'page', entry: [] }))).toEqual({
      type: 'unexpected_object',
      object: 'page',
    });
  });

  it('rejects a payload whose entry is not an array', () => {
    expect(parseBytes(encodeJson({ object: 'whatsapp_business_account', entry: {} }))).toEqual({
      type: 'invalid_payload',
      message: 'entry: Invalid input: expected array, received object',
    });
  });
});
