import type { ServerResponse } from 'node:http';
import type { Recipient } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import * as z from 'zod';
import type { EmitOptions, FakeGraph } from './fake-graph.ts';
import type { GraphErrorSpec } from './graph-errors.ts';
import { respond } from './http.ts';
import type { FakeMetaFields, FakeNumberConfig, FaultSettings } from './numbers.ts';
import type { WebhookItemSpec } from './webhooks/items.ts';

// The fake's own HTTP API, under /_fake/, so tests in another process (the Deno host's) can drive it.

const phone = z
  .string()
  .regex(/^\+?[1-9][0-9]{7,14}$/, { error: 'must be a phone number such as +56911112222' });

const recipientSchema = z.union([
  z
    .object({ phone })
    .transform(({ phone: value }): Recipient => ({ phone: `+${value.replace(/^\+/, '')}` as never })),
  z.object({ userId: z.string().min(1) }),
]);

const senderSchema = z.object({
  waId: z.string().optional(),
  userId: z.string().optional(),
  profileName: z.string().optional(),
});

const dateSchema = z
  .union([z.iso.datetime({ offset: true }), z.number()])
  .transform((value) => new Date(typeof value === 'number' ? value * 1000 : value));

const errorDetailSchema = z.object({
  code: z.number().int(),
  title: z.string().optional(),
  message: z.string().optional(),
  details: z.string().optional(),
  subcode: z.number().int().optional(),
});

const optionalText = z.string().optional();

/** The domain's `InboundContent`, as JSON. */
const contentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), body: z.string() }),
  z.object({ type: z.literal('button_reply'), id: z.string(), title: z.string() }),
  z.object({ type: z.literal('list_reply'), id: z.string(), title: z.string(), description: optionalText }),
  z.object({ type: z.literal('flow_reply'), name: z.string(), responseJson: z.string(), body: optionalText }),
  z.object({ type: z.literal('quick_reply'), text: z.string(), payload: z.string() }),
  z.object({
    type: z.literal('media'),
    mediaType: z.enum(['image', 'video', 'audio', 'document', 'sticker']),
    mediaId: z.string().min(1),
    mimeType: optionalText,
    caption: optionalText,
    filename: optionalText,
  }),
  z.object({
    type: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: optionalText,
    address: optionalText,
  }),
  z.object({
    type: z.literal('contacts'),
    cards: z.array(
      z.object({
        formattedName: z.string(),
        phones: z.array(z.object({ phone: z.string(), waId: optionalText, type: optionalText })),
      }),
    ),
  }),
  z.object({ type: z.literal('reaction'), messageId: z.string().min(1), emoji: optionalText }),
  z.object({ type: z.literal('welcome_request') }),
  z.object({ type: z.literal('system'), event: z.string(), body: optionalText }),
  z.object({ type: z.literal('unsupported'), originalType: z.string(), errors: z.array(errorDetailSchema) }),
]);

const itemSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('message'),
    phoneNumberId: z.string(),
    from: senderSchema,
    content: contentSchema,
    wamid: optionalText,
    sentAt: dateSchema.optional(),
    replyTo: optionalText,
  }),
  z.object({
    kind: z.literal('status'),
    wamid: z.string(),
    status: z.enum(['sent', 'delivered', 'read', 'played', 'failed']),
    errors: z.array(errorDetailSchema).optional(),
    at: dateSchema.optional(),
    phoneNumberId: optionalText,
    recipient: senderSchema.optional(),
    bizOpaqueCallbackData: optionalText,
    pricingCategory: optionalText,
  }),
  z.object({ kind: z.literal('error'), phoneNumberId: z.string(), errors: z.array(errorDetailSchema) }),
]);

const schemas = {
  number: z.object({
    phoneNumberId: z.string().regex(/^[0-9]{1,32}$/),
    accessToken: z.string().min(1),
    ratePerSecond: z.number().int().min(1).max(1000).optional(),
    wabaId: optionalText,
    displayPhoneNumber: optionalText,
    appSecret: optionalText,
  }),
  token: z.object({ accessToken: z.string().min(1) }),
  metaFields: z.object({
    messagingLimit: optionalText,
    qualityRating: optionalText,
    throughputLevel: optionalText,
    nameStatus: optionalText,
    verifiedName: optionalText,
    businessPortfolioId: z
      .string()
      .regex(/^[0-9]{1,32}$/)
      .optional(),
  }),
  failNext: z.object({
    code: z.number().int(),
    subcode: z.number().int().optional(),
    title: optionalText,
    details: optionalText,
    httpStatus: z.number().int().min(400).max(599).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    count: z.number().int().min(1).default(1),
  }),
  dropNext: z.object({ count: z.number().int().min(1).default(1) }),
  window: z.object({ recipient: recipientSchema, closed: z.boolean().default(true) }),
  faults: z.object({
    phoneNumberId: optionalText,
    latencyMs: z
      .union([z.number().min(0), z.object({ min: z.number().min(0), max: z.number().min(0) })])
      .optional(),
    serverErrorRate: z.number().min(0).max(1).optional(),
    serverErrorCodes: z.array(z.number().int()).min(1).optional(),
    dropRate: z.number().min(0).max(1).optional(),
    lostAnswerRate: z.number().min(0).max(1).optional(),
  }),
  accountWebhook: z.object({
    field: z.string().min(1),
    value: z.record(z.string(), z.unknown()),
    signWith: optionalText,
  }),
  webhooks: z.object({
    items: z.array(itemSchema).min(1),
    duplicates: z.number().int().min(0).optional(),
    signWith: optionalText,
  }),
};

/**
 * Zod types an optional field as `T | undefined` but leaves it out of its output when the JSON has no such
 * key, which is exactly what the domain's optional fields (exactOptionalPropertyTypes) mean.
 */
const exact = <T>(value: unknown): T => value as T;

type Route = {
  readonly method: string;
  readonly pattern: RegExp;
  readonly run: (fake: FakeGraph, body: unknown, params: readonly string[], url: URL) => unknown;
};

const parse = <T>(schema: z.ZodType<T>, body: unknown): T => schema.parse(body);

const routes: readonly Route[] = [
  { method: 'GET', pattern: /^\/_fake\/health$/, run: () => ({ ok: true }) },
  {
    method: 'GET',
    pattern: /^\/_fake\/numbers$/,
    run: (fake) => ({
      numbers: fake.numbers().map((number) => ({
        phoneNumberId: number.phoneNumberId,
        wabaId: number.wabaId,
        displayPhoneNumber: number.displayPhoneNumber,
        ratePerSecond: number.ratePerSecond,
        tokenExpired: number.tokenExpired,
        stats: number.stats,
      })),
    }),
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers$/,
    run: (fake, body) => {
      fake.registerNumber(exact<FakeNumberConfig>(parse(schemas.number, body)));
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/token$/,
    run: (fake, body, [id]) => {
      fake.rotateToken(id!, parse(schemas.token, body).accessToken);
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/fields$/,
    run: (fake, body, [id]) => {
      fake.setMetaFields(id!, exact<Partial<FakeMetaFields>>(parse(schemas.metaFields, body)));
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/account-webhook$/,
    run: async (fake, body, [id]) => {
      const { field, value, signWith } = parse(schemas.accountWebhook, body);
      const delivery = await fake.emitAccountWebhook(id!, field, value, defined({ signWith }));
      return { delivery };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/expire-token$/,
    run: (fake, _body, [id]) => {
      fake.expireToken(id!);
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/expire-tokens$/,
    run: (fake) => {
      fake.expireToken();
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/fail-next$/,
    run: (fake, body, [id]) => {
      const { count, ...error } = parse(schemas.failNext, body);
      fake.failNext(id!, exact<GraphErrorSpec>(error), count);
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/drop-next$/,
    run: (fake, body, [id]) => {
      fake.dropNext(id!, parse(schemas.dropNext, body ?? {}).count);
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/numbers\/(\d+)\/window$/,
    run: (fake, body, [id]) => {
      const { recipient, closed } = parse(schemas.window, body);
      fake.setWindowClosed(id!, recipient, closed);
      return { ok: true };
    },
  },
  {
    method: 'GET',
    pattern: /^\/_fake\/numbers\/(\d+)\/messages$/,
    run: (fake, _body, [id], url) => {
      const since = Number(url.searchParams.get('since') ?? 0);
      return { messages: fake.accepted(id).filter((message) => message.receivedAt > since) };
    },
  },
  {
    method: 'GET',
    pattern: /^\/_fake\/numbers\/(\d+)\/stats$/,
    run: (fake, _body, [id]) => fake.stats(id!),
  },
  {
    method: 'PUT',
    pattern: /^\/_fake\/faults$/,
    run: (fake, body) => {
      const { phoneNumberId, ...faults } = parse(schemas.faults, body);
      fake.setFaults(exact<FaultSettings>(faults), phoneNumberId);
      return { ok: true };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/_fake\/faults$/,
    run: (fake) => {
      fake.clearFaults();
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/webhooks$/,
    run: async (fake, body) => {
      const { items, ...options } = parse(schemas.webhooks, body);
      return {
        deliveries: await fake.emitWebhook(exact<WebhookItemSpec[]>(items), exact<EmitOptions>(options)),
      };
    },
  },
  {
    method: 'GET',
    pattern: /^\/_fake\/webhooks$/,
    run: (fake) => ({ deliveries: fake.webhookDeliveries() }),
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/settled$/,
    run: async (fake) => {
      await fake.settled();
      return { ok: true };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_fake\/reset$/,
    run: (fake) => {
      fake.clearFaults();
      fake.clearRecords();
      return { ok: true };
    },
  },
];

/** Answers a `/_fake/…` request: 200 with JSON, 400 naming the bad field, 404 for an unknown route or number. */
export const handleControlRequest = async (
  fake: FakeGraph,
  method: string,
  url: URL,
  body: Buffer,
  response: ServerResponse,
): Promise<void> => {
  for (const route of routes) {
    const match = route.pattern.exec(url.pathname);
    if (match === null || route.method !== method) continue;
    try {
      const json: unknown = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
      respond(response, 200, await route.run(fake, json, match.slice(1), url));
    } catch (error) {
      const problem =
        error instanceof z.ZodError
          ? error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')
          : error instanceof Error
            ? error.message
            : String(error);
      respond(response, problem.includes('serves no number') ? 404 : 400, { error: problem });
    }
    return;
  }
  respond(response, 404, { error: `no control route ${method} ${url.pathname}` });
};
