import type { OutboundMessage, PhoneNumberId, Recipient, Wamid } from '@prestabot/domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessagingGateway, SendRequest } from '../../ports/messaging-gateway.port.ts';
import { expectErr, expectOk } from './storage-harness.ts';

/** What a gateway test needs: the gateway, and a Graph API (real fake or in-memory) it can steer. */
export type GatewayHarness = {
  readonly gateway: MessagingGateway;
  /** A number Graph knows, with the only token it accepts for it. */
  readonly number: { readonly phoneNumberId: PhoneNumberId; readonly accessToken: string };
  /** The next send of the number fails with this Graph error (HTTP status chosen like Meta does). */
  readonly failNext: (failure: {
    readonly code: number;
    readonly title?: string;
    readonly retryAfterSeconds?: number;
  }) => void;
  /** The next send of the number loses its connection. */
  readonly dropNext: () => void;
  /** What Graph accepted for the number, in order. */
  readonly accepted: () => Promise<
    readonly { readonly message: OutboundMessage; readonly recipient?: Recipient }[]
  >;
  readonly close: () => Promise<void>;
};

const recipient: Recipient = { phone: '+56911112222' as never };
const replyTo = 'wamid.HBgLNTY5MTExMTIyMjIVAgARGBI=' as Wamid;

/** One message of every type the bot sends. */
export const everyMessageType: readonly OutboundMessage[] = [
  { type: 'text', body: 'Hola 👋 — ¿cómo estás? https://example.com/a/b', previewUrl: true },
  {
    type: 'buttons',
    body: '¿Confirmas?',
    header: 'Préstamo',
    footer: 'PrestaBot',
    buttons: [
      { id: 'loan:confirm:1', title: 'Sí' },
      { id: 'loan:reject:1', title: 'No' },
    ],
  },
  {
    type: 'list',
    body: 'Tus préstamos',
    buttonLabel: 'Ver',
    sections: [
      {
        title: 'Prestaste',
        rows: [{ id: 'loan:view:1', title: 'Ana · $5.000', description: 'vence 10/03' }],
      },
      { title: 'Te prestaron', rows: [{ id: 'loan:view:2', title: 'Pedro · taladro' }] },
    ],
  },
  {
    type: 'flow',
    body: 'Completa tu perfil',
    flowId: '1234567890',
    flowToken: 'signed.token',
    cta: 'Mi perfil',
    mode: 'published',
    // `__proto__` is plain data in JSON; every store and decoder must keep it as a key.
    action: {
      type: 'navigate',
      screen: 'PROFILE',
      data: JSON.parse('{"name":"Ana","__proto__":{"kept":true}}'),
    },
  },
  {
    type: 'template',
    name: 'loan_reminder',
    language: 'es_CL',
    components: [
      {
        type: 'body',
        parameters: [
          { type: 'text', text: 'Ana' },
          { type: 'currency', fallback: '$5.000', code: 'CLP', amount1000: 5_000_000 },
        ],
      },
      { type: 'quick_reply_button', index: 0, payload: 'loan:returned:1' },
    ],
  },
  { type: 'reaction', messageId: replyTo, emoji: '👍' },
  { type: 'mark_read', messageId: replyTo, typingIndicator: true },
];

export const describeMessagingGatewayContract = (
  implementation: string,
  factory: () => Promise<GatewayHarness>,
): void => {
  describe(`${implementation}: MessagingGateway`, () => {
    let harness: GatewayHarness;
    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      await harness.close();
    });

    const send = (message: OutboundMessage, overrides: Partial<SendRequest> = {}) =>
      harness.gateway.send({
        phoneNumberId: harness.number.phoneNumberId,
        accessToken: harness.number.accessToken,
        message,
        ...(message.type === 'mark_read' ? {} : { recipient }),
        ...overrides,
      });

    it.each(everyMessageType.map((message) => [message.type, message] as const))(
      'sends a %s message',
      async (_type, message) => {
        const accepted = await expectOk(send(message));
        if (message.type === 'mark_read') expect(accepted.wamid).toBeUndefined();
        else expect(accepted.wamid).toMatch(/^wamid\./);
        const log = await harness.accepted();
        expect(log.at(-1)?.message).toEqual(message);
      },
    );

    it("rejects another number's token as an invalid token (190)", async () => {
      const error = await expectErr(
        send(everyMessageType[0]!, { accessToken: 'EAA-not-this-numbers-token' }),
      );
      expect(error).toMatchObject({ type: 'send_token_invalid', code: 190 });
    });

    it('classifies Graph errors by code', async () => {
      const cases = [
        { code: 130429, type: 'send_retryable' },
        { code: 131000, type: 'send_retryable' },
        { code: 131056, type: 'send_pair_rate_limited' },
        { code: 131047, type: 'send_window_closed' },
        { code: 132001, type: 'send_rejected' },
        { code: 100, type: 'send_rejected' },
        { code: 190, type: 'send_token_invalid' },
        { code: 131048, type: 'send_spam_limited' },
        { code: 131049, type: 'send_marketing_limited' },
        { code: 132015, type: 'send_template_stopped' },
        { code: 132016, type: 'send_template_stopped' },
        { code: 368, type: 'send_number_blocked' },
        { code: 131031, type: 'send_number_blocked' },
      ] as const;
      for (const { code, type } of cases) {
        harness.failNext({ code, title: `error ${code}` });
        const error = await expectErr(send(everyMessageType[0]!));
        expect(error).toMatchObject({ type, code });
      }
    });

    it("passes Meta's Retry-After on throttling", async () => {
      harness.failNext({ code: 130429, retryAfterSeconds: 7 });
      expect(await expectErr(send(everyMessageType[0]!))).toMatchObject({
        type: 'send_retryable',
        code: 130429,
        retryAfterMs: 7000,
      });
    });

    it('treats a dropped connection as retryable', async () => {
      harness.dropNext();
      expect((await expectErr(send(everyMessageType[0]!))).type).toBe('send_retryable');
    });
  });
};
