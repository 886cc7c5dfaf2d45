import { everyMessageType } from '@prestabot/application/testing';
import type { E164, OutboundMessage, Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { decodeSendBody, encodeSendBody, type OutboundEnvelope } from './wire.ts';

const to = { phone: '+56911112222' as E164 };
const inbound = 'wamid.HBgLNTY5MTExMTIyMjIVAgARGBI=' as Wamid;

const messageOfType = <T extends OutboundMessage['type']>(type: T) =>
  everyMessageType.find((message) => message.type === type) as Extract<OutboundMessage, { type: T }>;

describe('encodeSendBody', () => {
  it('addresses a phone by wa_id digits, quotes the message replied to and carries the callback data', () => {
    expect(
      encodeSendBody({
        message: { type: 'text', body: 'Hola https://example.com/a', previewUrl: true },
        recipient: to,
        replyTo: inbound,
        callbackData: 'outbox-1',
      }),
    ).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '56911112222',
      context: { message_id: inbound },
      biz_opaque_callback_data: 'outbox-1',
      type: 'text',
      text: { body: 'Hola https://example.com/a', preview_url: true },
    });
  });

  it('addresses a business-scoped user id through `recipient`', () => {
    expect(
      encodeSendBody({ message: messageOfType('reaction'), recipient: { userId: 'CL.1234567890ABCDEF' } }),
    ).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      recipient: 'CL.1234567890ABCDEF',
      type: 'reaction',
      reaction: { message_id: inbound, emoji: '👍' },
    });
  });

  it('encodes reply buttons with header and footer', () => {
    expect(encodeSendBody({ message: messageOfType('buttons'), recipient: to })).toMatchObject({
      type: 'interactive',
      interactive: {
        type: 'button',
        header: { type: 'text', text: 'Préstamo' },
        body: { text: '¿Confirmas?' },
        footer: { text: 'PrestaBot' },
        action: {
          buttons: [
            { type: 'reply', reply: { id: 'loan:confirm:1', title: 'Sí' } },
            { type: 'reply', reply: { id: 'loan:reject:1', title: 'No' } },
          ],
        },
      },
    });
  });

  it('encodes a list, leaving out what the message does not have', () => {
    expect(encodeSendBody({ message: messageOfType('list'), recipient: to }).interactive).toEqual({
      type: 'list',
      body: { text: 'Tus préstamos' },
      action: {
        button: 'Ver',
        sections: [
          {
            title: 'Prestaste',
            rows: [{ id: 'loan:view:1', title: 'Ana · $5.000', description: 'vence 10/03' }],
          },
          { title: 'Te prestaron', rows: [{ id: 'loan:view:2', title: 'Pedro · taladro' }] },
        ],
      },
    });
  });

  it('encodes a Flow message with version 3 and its navigate payload', () => {
    expect(encodeSendBody({ message: messageOfType('flow'), recipient: to }).interactive).toEqual({
      type: 'flow',
      body: { text: 'Completa tu perfil' },
      action: {
        name: 'flow',
        parameters: {
          flow_message_version: '3',
          flow_id: '1234567890',
          flow_token: 'signed.token',
          flow_cta: 'Mi perfil',
          mode: 'published',
          flow_action: 'navigate',
          flow_action_payload: {
            screen: 'PROFILE',
            data: JSON.parse('{"name":"Ana","__proto__":{"kept":true}}'),
          },
        },
      },
    });
  });

  it('keeps a `__proto__` key in Flow data as a key through JSON and back, never as a prototype', () => {
    const sent = { message: messageOfType('flow'), recipient: to };
    const received = decodeSendBody(JSON.parse(JSON.stringify(encodeSendBody(sent))))._unsafeUnwrap();

    expect(received).toStrictEqual(sent);
    const { data } = (received.message as typeof sent.message).action as { data: object };
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
  });

  it('encodes a data_exchange Flow without a payload', () => {
    const message: OutboundMessage = { ...messageOfType('flow'), action: { type: 'data_exchange' } };
    const parameters = (
      encodeSendBody({ message, recipient: to }).interactive as { action: { parameters: object } }
    ).action.parameters;
    expect(parameters).toMatchObject({ flow_action: 'data_exchange' });
    expect(parameters).not.toHaveProperty('flow_action_payload');
  });

  it('encodes template components: named and positional parameters, currency, date, buttons', () => {
    const message: OutboundMessage = {
      type: 'template',
      name: 'loan_due',
      language: 'es_CL',
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'Recordatorio' }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Ana', name: 'first_name' },
            { type: 'currency', fallback: '$5.000', code: 'CLP', amount1000: 5_000_000, name: 'amount' },
            { type: 'date_time', fallback: '10 de marzo', name: 'due_date' },
          ],
        },
        { type: 'quick_reply_button', index: 0, payload: 'loan:returned:1' },
        { type: 'url_button', index: 1, text: 'loans/1' },
      ],
    };
    expect(encodeSendBody({ message, recipient: to }).template).toEqual({
      name: 'loan_due',
      language: { code: 'es_CL' },
      components: [
        { type: 'header', parameters: [{ type: 'text', text: 'Recordatorio' }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', parameter_name: 'first_name', text: 'Ana' },
            {
              type: 'currency',
              parameter_name: 'amount',
              currency: { fallback_value: '$5.000', code: 'CLP', amount_1000: 5_000_000 },
            },
            { type: 'date_time', parameter_name: 'due_date', date_time: { fallback_value: '10 de marzo' } },
          ],
        },
        {
          type: 'button',
          sub_type: 'quick_reply',
          index: '0',
          parameters: [{ type: 'payload', payload: 'loan:returned:1' }],
        },
        { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'loans/1' }] },
      ],
    });
  });

  it('leaves out the components of a template without parameters', () => {
    const message: OutboundMessage = {
      type: 'template',
      name: 'hello_world',
      language: 'en_US',
      components: [],
    };
    expect(encodeSendBody({ message, recipient: to }).template).toEqual({
      name: 'hello_world',
      language: { code: 'en_US' },
    });
  });

  it('encodes mark-as-read without a recipient, with or without the typing indicator', () => {
    expect(encodeSendBody({ message: messageOfType('mark_read') })).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: inbound,
      typing_indicator: { type: 'text' },
    });
    expect(
      encodeSendBody({ message: { type: 'mark_read', messageId: inbound, typingIndicator: false } }),
    ).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: inbound });
  });
});

describe('decodeSendBody', () => {
  it.each(everyMessageType.map((message) => [message.type, message] as const))(
    'reads back a %s message',
    (_type, message) => {
      const envelope: OutboundEnvelope =
        message.type === 'mark_read' ? { message } : { message, recipient: to, replyTo: inbound };
      expect(decodeSendBody(encodeSendBody(envelope))._unsafeUnwrap()).toEqual(envelope);
    },
  );

  it('normalises a formatted phone number in `to`', () => {
    const body = { messaging_product: 'whatsapp', to: '+56 9 1111-2222', text: { body: 'hola' } };
    expect(decodeSendBody(body)._unsafeUnwrap()).toEqual({
      message: { type: 'text', body: 'hola', previewUrl: false },
      recipient: to,
    });
  });

  it.each<[string, unknown, string]>([
    ['no messaging_product', { to: '56911112222', type: 'text', text: { body: 'x' } }, 'messaging_product'],
    [
      'another messaging_product',
      { messaging_product: 'sms', to: '56911112222', type: 'text', text: { body: 'x' } },
      'messaging_product',
    ],
    ['no recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }, 'to'],
    [
      'a recipient that is no phone',
      { messaging_product: 'whatsapp', to: 'ana', type: 'text', text: { body: 'x' } },
      'to',
    ],
    [
      'a text without body',
      { messaging_product: 'whatsapp', to: '56911112222', type: 'text', text: {} },
      'text.body',
    ],
    [
      'a type the bot does not send',
      { messaging_product: 'whatsapp', to: '56911112222', type: 'image', image: { link: 'https://x' } },
      'type',
    ],
    [
      'a reply button of another kind',
      {
        messaging_product: 'whatsapp',
        to: '56911112222',
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'x' },
          action: { buttons: [{ type: 'url', reply: { id: 'a', title: 'b' } }] },
        },
      },
      'interactive.action.buttons[0].type',
    ],
    [
      'a Flow addressed by name',
      {
        messaging_product: 'whatsapp',
        to: '56911112222',
        type: 'interactive',
        interactive: {
          type: 'flow',
          body: { text: 'x' },
          action: { name: 'flow', parameters: { flow_message_version: '3', flow_name: 'profile' } },
        },
      },
      'interactive.action.parameters.flow_id',
    ],
    [
      'callback data over 512 bytes',
      {
        messaging_product: 'whatsapp',
        to: '56911112222',
        type: 'text',
        text: { body: 'x' },
        biz_opaque_callback_data: 'ñ'.repeat(257),
      },
      'biz_opaque_callback_data',
    ],
    ['mark-as-read without a message id', { messaging_product: 'whatsapp', status: 'read' }, 'message_id'],
  ])('names the field at fault for %s', (_case, body, field) => {
    expect(decodeSendBody(body)._unsafeUnwrapErr().field).toBe(field);
  });
});
