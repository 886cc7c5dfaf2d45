import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphClient,
  HmacSignatureVerifier,
  parseGraphApiConfig,
  UndiciGraphGateway,
  ZodWebhookParser,
} from '@prestabot/adapters-meta';
import { expectOk } from '@prestabot/application/testing';
import type {
  E164,
  InboundContent,
  InboundMessage,
  InboundStatus,
  PhoneNumberId,
  WabaId,
  WebhookBatch,
  WebhookItem,
} from '@prestabot/domain';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGraph, type FakeGraphOptions, startFakeGraph } from './fake-graph.ts';
import type { WebhookTarget } from './webhooks/emitter.ts';
import type { InboundMessageSpec } from './webhooks/items.ts';

const appSecret = 'app-secret-of-the-deployment';
const numberA = {
  phoneNumberId: '106540352242922',
  accessToken: 'EAAG-a',
  wabaId: '102290129340398',
  displayPhoneNumber: '15550783881',
};
const numberB = {
  phoneNumberId: '113355779900112',
  accessToken: 'EAAG-b',
  wabaId: '109876543210987',
  displayPhoneNumber: '15550001111',
};
const numberC = {
  phoneNumberId: '120000000000003',
  accessToken: 'EAAG-c',
  wabaId: numberA.wabaId,
  displayPhoneNumber: '15550002222',
};
const numberD = {
  phoneNumberId: '130000000000004',
  accessToken: 'EAAG-d',
  wabaId: '130000000000999',
  displayPhoneNumber: '15550003333',
  appSecret: 'secret-of-another-meta-app',
};
const ana = { waId: '56911112222', profileName: 'Ana Pérez' };
const sentAt = new Date('2026-03-02T12:00:00.000Z');

/** One of everything a person can send, as the domain reads it. */
const everyInboundContent: readonly InboundContent[] = [
  { type: 'text', body: 'Hola, ¿me prestas $5.000? https://example.com/a/b 👋' },
  { type: 'button_reply', id: 'loan:confirm:1', title: 'Sí' },
  { type: 'list_reply', id: 'loan:view:1', title: 'Ana · $5.000', description: 'vence 10/03' },
  { type: 'flow_reply', name: 'flow', body: 'Sent', responseJson: '{"flow_token":"tok-1","name":"Ana"}' },
  { type: 'quick_reply', text: 'Sí, pagué', payload: 'loan:returned:1' },
  ...(['image', 'video', 'audio', 'document', 'sticker'] as const).map(
    (mediaType): InboundContent => ({
      type: 'media',
      mediaType,
      mediaId: `14795371396509${mediaType.length}`,
      mimeType: 'application/octet-stream',
      ...(mediaType === 'document' ? { caption: 'Contrato', filename: 'contrato.pdf' } : {}),
    }),
  ),
  { type: 'location', latitude: -33.4489, longitude: -70.6693, name: 'Plaza de Armas', address: 'Santiago' },
  {
    type: 'contacts',
    cards: [
      {
        formattedName: 'Pedro Pérez',
        phones: [{ phone: '+56 9 3333 4444', waId: '56933334444', type: 'CELL' }],
      },
    ],
  },
  { type: 'reaction', messageId: 'wamid.HBgLNTY5MTExMTIyMjIVAgARGBI=' as never, emoji: '👍' },
  { type: 'reaction', messageId: 'wamid.HBgLNTY5MTExMTIyMjIVAgARGBI=' as never },
  { type: 'welcome_request' },
  {
    type: 'unsupported',
    originalType: 'unsupported',
    errors: [
      {
        code: 131051,
        title: 'Message type unknown',
        message: 'Message type unknown',
        details: 'Not supported.',
      },
    ],
  },
  { type: 'unsupported', originalType: 'interactive.call_permission_reply', errors: [] },
];

type Received = { readonly headers: IncomingHttpHeaders; readonly body: Uint8Array };

/** A webhook endpoint that records every request and answers with the statuses it is given, then 200. */
const startReceiver = async (statuses: readonly number[] = []) => {
  const received: Received[] = [];
  const server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    received.push({ headers: incoming.headers, body: new Uint8Array(Buffer.concat(chunks)) });
    response.writeHead(statuses[received.length - 1] ?? 200);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const verifier = new HmacSignatureVerifier();
const parser = new ZodWebhookParser();

/** What the server does with a delivery: check the signature over the exact bytes, then parse. */
const verifyAndParse = async (delivery: Received, secret = appSecret): Promise<WebhookBatch> => {
  await expectOk(
    verifier.verify(delivery.body, delivery.headers['x-hub-signature-256'] as string, [{ secret }]),
  );
  const batch = parser.parse(delivery.body)._unsafeUnwrap();
  expect(batch.rejected).toEqual([]);
  return batch;
};

const messageItem = (
  number: typeof numberA,
  spec: Omit<InboundMessageSpec, 'kind' | 'phoneNumberId'>,
): InboundMessage => ({
  kind: 'message',
  phoneNumberId: number.phoneNumberId as PhoneNumberId,
  displayPhoneNumber: number.displayPhoneNumber,
  wabaId: number.wabaId as never,
  wamid: spec.wamid as never,
  from: spec.from,
  sentAt: spec.sentAt!,
  content: spec.content,
  ...(spec.replyTo === undefined ? {} : { replyTo: spec.replyTo as never }),
});

describe('fake Graph webhooks', () => {
  let fake: FakeGraph;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const start = async (
    options: Partial<FakeGraphOptions> = {},
    statuses: readonly number[] = [],
    webhook: Partial<WebhookTarget> = {},
  ) => {
    receiver = await startReceiver(statuses);
    fake = await startFakeGraph({
      numbers: [numberA, numberB, numberC, numberD],
      webhook: { url: receiver.url, appSecret, retryBaseMs: 20, ...webhook },
      ...options,
    });
  };
  afterEach(async () => {
    await fake.close();
    await receiver.close();
  });

  it('emits account fields signed with the number’s app, under its WABA, as the parser reads them', async () => {
    await start();
    await fake.emitAccountWebhook(numberA.phoneNumberId, 'phone_number_quality_update', {
      event: 'DOWNGRADE',
      old_limit: 'TIER_10K',
      current_limit: 'TIER_2K',
      max_daily_conversations_per_business: 'TIER_2K',
    });
    await fake.emitAccountWebhook(numberD.phoneNumberId, 'business_capability_update', {
      max_daily_conversations_per_business: -1,
    });
    const answer = await request(`${fake.url}/_fake/numbers/${numberA.phoneNumberId}/account-webhook`, {
      method: 'POST',
      body: JSON.stringify({ field: 'phone_number_quality_update', value: { event: 'FLAGGED' } }),
    });
    expect(answer.statusCode).toBe(200);
    await answer.body.dump();
    const [quality, capability, flagged] = receiver.received;
    expect((await verifyAndParse(quality!)).accountEvents).toEqual([
      {
        kind: 'number_quality',
        wabaId: numberA.wabaId,
        displayPhoneNumber: numberA.displayPhoneNumber,
        event: 'DOWNGRADE',
        messagingLimit: 2000,
      },
    ]);
    expect((await verifyAndParse(capability!, numberD.appSecret)).accountEvents).toEqual([
      { kind: 'business_capability', wabaId: numberD.wabaId, messagingLimit: 'unlimited' },
    ]);
    expect((await verifyAndParse(flagged!)).accountEvents).toEqual([
      {
        kind: 'number_quality',
        wabaId: numberA.wabaId,
        displayPhoneNumber: numberA.displayPhoneNumber,
        event: 'FLAGGED',
      },
    ]);
  });

  it('emits every inbound message type in one signed POST that the parser reads back item for item', async () => {
    await start();
    const specs = everyInboundContent.map((content, index) => ({
      kind: 'message' as const,
      phoneNumberId: numberA.phoneNumberId,
      wamid: `wamid.inbound${index}`,
      from: ana,
      sentAt,
      content,
      ...(content.type === 'button_reply' ? { replyTo: 'wamid.our-buttons' } : {}),
    }));
    // System notices come without contacts, from someone else here so no profile is shared.
    const system = {
      kind: 'message' as const,
      phoneNumberId: numberA.phoneNumberId,
      wamid: 'wamid.system',
      from: { waId: '56955556666' },
      sentAt,
      content: { type: 'system', event: 'user_changed_number', body: 'Ana cambió su número' } as const,
    };
    const [delivery] = await fake.emitWebhook([...specs, system]);
    expect(delivery).toMatchObject({ outcome: 'delivered', itemCount: specs.length + 1 });
    expect(receiver.received).toHaveLength(1);
    const batch = await verifyAndParse(receiver.received[0]!);
    expect(batch.items).toEqual([...specs, system].map((spec) => messageItem(numberA, spec)));
  });

  it('reports statuses, failed ones with their errors, for messages the fake accepted', async () => {
    await start();
    const gateway = new UndiciGraphGateway(
      new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap()),
    );
    const { wamid } = await expectOk(
      gateway.send({
        phoneNumberId: numberA.phoneNumberId as PhoneNumberId,
        accessToken: numberA.accessToken,
        recipient: { phone: '+56911112222' as E164 },
        message: { type: 'text', body: 'Tu préstamo vence mañana', previewUrl: false },
        callbackData: 'outbox-7',
      }),
    );
    await gateway.close();
    const windowClosed = {
      code: 131047,
      title: 'Re-engagement message',
      message: 'Re-engagement message',
      details: '24 hours passed',
    };
    await fake.emitWebhook([
      { kind: 'status', wamid: wamid!, status: 'sent', at: sentAt },
      { kind: 'status', wamid: wamid!, status: 'failed', at: sentAt, errors: [windowClosed] },
    ]);
    const batch = await verifyAndParse(receiver.received[0]!);
    const routing = {
      phoneNumberId: numberA.phoneNumberId as PhoneNumberId,
      displayPhoneNumber: numberA.displayPhoneNumber,
      wabaId: numberA.wabaId as WabaId,
    };
    expect(batch.items).toEqual<InboundStatus[]>([
      {
        kind: 'status',
        ...routing,
        wamid: wamid!,
        status: 'sent',
        at: sentAt,
        recipient: { waId: '56911112222' },
        errors: [],
        bizOpaqueCallbackData: 'outbox-7',
        // A free-form reply inside the customer-service window: free under per-message pricing.
        pricing: { billable: false, pricingModel: 'PMP', type: 'free_customer_service', category: 'service' },
      },
      {
        kind: 'status',
        ...routing,
        wamid: wamid!,
        status: 'failed',
        at: sentAt,
        recipient: { waId: '56911112222' },
        errors: [windowClosed],
        bizOpaqueCallbackData: 'outbox-7',
      },
    ]);
  });

  it("prices a template's statuses like Meta: billable utility, unless the test names the category", async () => {
    await start();
    const gateway = new UndiciGraphGateway(
      new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap()),
    );
    const { wamid } = await expectOk(
      gateway.send({
        phoneNumberId: numberA.phoneNumberId as PhoneNumberId,
        accessToken: numberA.accessToken,
        recipient: { phone: '+56911112222' as E164 },
        message: { type: 'template', name: 'payment_due', language: 'es', components: [] },
      }),
    );
    await gateway.close();
    await fake.emitWebhook([
      { kind: 'status', wamid: wamid!, status: 'sent', at: sentAt },
      { kind: 'status', wamid: wamid!, status: 'delivered', at: sentAt, pricingCategory: 'marketing' },
    ]);
    const batch = await verifyAndParse(receiver.received[0]!);
    expect(batch.items.map((item) => (item.kind === 'status' ? item.pricing : undefined))).toEqual([
      { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' },
      { billable: true, pricingModel: 'PMP', type: 'regular', category: 'marketing' },
    ]);
  });

  it('batches entries per WABA, changes per number and kind, several items per change', async () => {
    await start();
    const text = (number: typeof numberA, wamid: string): InboundMessageSpec => ({
      kind: 'message',
      phoneNumberId: number.phoneNumberId,
      wamid,
      from: ana,
      sentAt,
      content: { type: 'text', body: wamid },
    });
    await fake.emitWebhook([
      text(numberA, 'wamid.a1'),
      text(numberB, 'wamid.b1'),
      text(numberA, 'wamid.a2'),
      text(numberC, 'wamid.c1'),
      {
        kind: 'status',
        wamid: 'wamid.out1',
        status: 'delivered',
        phoneNumberId: numberA.phoneNumberId,
        recipient: { waId: ana.waId },
      },
      {
        kind: 'status',
        wamid: 'wamid.out2',
        status: 'read',
        phoneNumberId: numberA.phoneNumberId,
        recipient: { waId: ana.waId },
      },
      {
        kind: 'error',
        phoneNumberId: numberB.phoneNumberId,
        errors: [{ code: 131008, title: 'Required parameter is missing' }],
      },
    ]);
    expect(receiver.received).toHaveLength(1);
    const payload = JSON.parse(new TextDecoder().decode(receiver.received[0]!.body)) as {
      entry: {
        id: string;
        changes: {
          value: {
            metadata: { phone_number_id: string };
            messages?: unknown[];
            statuses?: unknown[];
            errors?: unknown[];
          };
        }[];
      }[];
    };
    expect(
      payload.entry.map((entry) => ({
        waba: entry.id,
        changes: entry.changes.map(({ value }) => [
          value.metadata.phone_number_id,
          value.messages?.length ?? 0,
          value.statuses?.length ?? 0,
          value.errors?.length ?? 0,
        ]),
      })),
    ).toEqual([
      {
        waba: numberA.wabaId,
        changes: [
          [numberA.phoneNumberId, 2, 0, 0],
          [numberC.phoneNumberId, 1, 0, 0],
          [numberA.phoneNumberId, 0, 2, 0],
        ],
      },
      {
        waba: numberB.wabaId,
        changes: [
          [numberB.phoneNumberId, 1, 0, 0],
          [numberB.phoneNumberId, 0, 0, 1],
        ],
      },
    ]);
    const batch = await verifyAndParse(receiver.received[0]!);
    expect(batch.items.map((item: WebhookItem) => item.kind)).toEqual([
      'message',
      'message',
      'message',
      'status',
      'status',
      'message',
      'error',
    ]);
  });

  it('escapes like Meta: `\\/`, lowercase \\uXXXX for every non-ASCII unit, signed over exactly those bytes', async () => {
    await start();
    await fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: numberA.phoneNumberId,
        wamid: 'wamid.escape',
        from: ana,
        sentAt,
        content: { type: 'text', body: 'Año ñandú https://x.cl/a 👍' },
      },
    ]);
    const { body } = receiver.received[0]!;
    const raw = new TextDecoder().decode(body);
    expect(body.every((byte) => byte < 0x80)).toBe(true);
    expect(raw).toContain('A\\u00f1o \\u00f1and\\u00fa https:\\/\\/x.cl\\/a \\ud83d\\udc4d');
    expect(raw).toContain('"name":"Ana P\\u00e9rez"');
    const reserialised = new TextEncoder().encode(JSON.stringify(JSON.parse(raw)));
    const header = receiver.received[0]!.headers['x-hub-signature-256'] as string;
    expect((await verifier.verify(reserialised, header, [{ secret: appSecret }])).isErr()).toBe(true);
    const [item] = (await verifyAndParse(receiver.received[0]!)).items;
    expect(item).toMatchObject({ content: { type: 'text', body: 'Año ñandú https://x.cl/a 👍' } });
  });

  it("signs each number's webhooks with its own Meta app's secret, one POST per app", async () => {
    await start();
    await fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: numberA.phoneNumberId,
        from: ana,
        content: { type: 'text', body: 'a' },
      },
      {
        kind: 'message',
        phoneNumberId: numberD.phoneNumberId,
        from: ana,
        content: { type: 'text', body: 'd' },
      },
    ]);
    expect(receiver.received).toHaveLength(2);
    const [forA, forD] = receiver.received as [Received, Received];
    expect((await verifyAndParse(forA, appSecret)).items[0]).toMatchObject({
      phoneNumberId: numberA.phoneNumberId,
    });
    expect((await verifyAndParse(forD, numberD.appSecret)).items[0]).toMatchObject({
      phoneNumberId: numberD.phoneNumberId,
    });
    const header = forD.headers['x-hub-signature-256'] as string;
    expect((await verifier.verify(forD.body, header, [{ secret: appSecret }])).isErr()).toBe(true);
  });

  it('delivers duplicates byte for byte, as at-least-once delivery does', async () => {
    await start();
    const deliveries = await fake.emitWebhook(
      [
        {
          kind: 'message',
          phoneNumberId: numberA.phoneNumberId,
          from: ana,
          content: { type: 'text', body: 'hola' },
        },
      ],
      { duplicates: 2 },
    );
    expect(deliveries).toHaveLength(3);
    expect(
      new Set(receiver.received.map((delivery) => Buffer.from(delivery.body).toString())),
    ).toHaveProperty('size', 1);
    expect(
      new Set(receiver.received.map((delivery) => delivery.headers['x-hub-signature-256'])),
    ).toHaveProperty('size', 1);
  });

  it('retries non-200 answers with growing waits, and records every attempt', async () => {
    await start({}, [500, 503, 200]);
    const [delivery] = await fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: numberA.phoneNumberId,
        from: ana,
        content: { type: 'text', body: 'hola' },
      },
    ]);
    expect(delivery!.outcome).toBe('delivered');
    expect(delivery!.attempts.map((attempt) => attempt.status)).toEqual([500, 503, 200]);
    const [first, second, third] = delivery!.attempts.map((attempt) => attempt.at) as [
      number,
      number,
      number,
    ];
    expect(second - first).toBeGreaterThanOrEqual(19);
    expect(third - second).toBeGreaterThanOrEqual(39);
    expect(receiver.received).toHaveLength(3);
  });

  it('gives up after the last attempt, and treats a redirect as a failure', async () => {
    await start({}, [302, 302, 302, 200], { retryBaseMs: 5, maxAttempts: 3 });
    const [delivery] = await fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: numberA.phoneNumberId,
        from: ana,
        content: { type: 'text', body: 'hola' },
      },
    ]);
    expect(delivery).toMatchObject({ outcome: 'failed' });
    expect(delivery!.attempts.map((attempt) => attempt.status)).toEqual([302, 302, 302]);
  });

  it('reports sent, delivered and read by itself after a send, in the order configured', async () => {
    await start({ autoStatuses: { stepMs: 5, sequence: ['sent', 'read', 'delivered'] } });
    const gateway = new UndiciGraphGateway(
      new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap()),
    );
    const { wamid } = await expectOk(
      gateway.send({
        phoneNumberId: numberA.phoneNumberId as PhoneNumberId,
        accessToken: numberA.accessToken,
        recipient: { phone: '+56911112222' as E164 },
        message: { type: 'text', body: 'hola', previewUrl: false },
        callbackData: 'outbox-9',
      }),
    );
    await gateway.close();
    await fake.settled();
    const statuses = (
      await Promise.all(receiver.received.map((delivery) => verifyAndParse(delivery)))
    ).flatMap((batch) => batch.items) as InboundStatus[];
    expect(statuses.map((status) => [status.wamid, status.status, status.bizOpaqueCallbackData])).toEqual([
      [wamid, 'sent', 'outbox-9'],
      [wamid, 'read', 'outbox-9'],
      [wamid, 'delivered', 'outbox-9'],
    ]);
  });

  it('reports 131047 as a late failed status after a 200 for a person whose window is closed', async () => {
    await start({ autoStatuses: { stepMs: 5 } });
    fake.setWindowClosed(numberA.phoneNumberId, { phone: '+56911112222' as E164 });
    const gateway = new UndiciGraphGateway(
      new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap()),
    );
    const sent = await gateway.send({
      phoneNumberId: numberA.phoneNumberId as PhoneNumberId,
      accessToken: numberA.accessToken,
      recipient: { phone: '+56911112222' as E164 },
      message: { type: 'text', body: 'hola', previewUrl: false },
    });
    await gateway.close();
    expect(sent.isOk()).toBe(true);
    await fake.settled();
    const items = (await Promise.all(receiver.received.map((delivery) => verifyAndParse(delivery)))).flatMap(
      (batch) => batch.items,
    );
    expect(items).toEqual([
      expect.objectContaining({
        kind: 'status',
        status: 'failed',
        errors: [expect.objectContaining({ code: 131047 })],
      }),
    ]);
  });

  it('emits through the control API what another process asks for', async () => {
    await start();
    const response = await request(`${fake.url}/_fake/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        items: [
          {
            kind: 'message',
            phoneNumberId: numberB.phoneNumberId,
            wamid: 'wamid.remote',
            from: { waId: ana.waId, profileName: 'Ana' },
            sentAt: '2026-03-02T12:00:00Z',
            content: { type: 'location', latitude: -33.4, longitude: -70.6 },
          },
        ],
        duplicates: 1,
      }),
    });
    const answer = (await response.body.json()) as { deliveries: { outcome: string }[] };
    expect(answer.deliveries.map((delivery) => delivery.outcome)).toEqual(['delivered', 'delivered']);
    const batch = await verifyAndParse(receiver.received[0]!);
    expect(batch.items).toEqual([
      messageItem(numberB, {
        wamid: 'wamid.remote',
        from: { waId: ana.waId, profileName: 'Ana' },
        sentAt,
        content: { type: 'location', latitude: -33.4, longitude: -70.6 },
      }),
    ]);
  });
});
