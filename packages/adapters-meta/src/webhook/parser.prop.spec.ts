import { fc, test } from '@fast-check/vitest';
import {
  type WebhookBatch,
  type WebhookDeliveryStatus,
  webhookDeliveryStatuses,
  withoutLoneSurrogates,
} from '@prestabot/domain';
import { describe, expect } from 'vitest';
import { ZodWebhookParser } from './parser.ts';
import {
  contactOf,
  customerWaId,
  encodeJson,
  type Json,
  messagesChange,
  numberA,
  numberB,
  otherWabaId,
  type TestNumber,
  type WireMessageKind,
  wabaEntry,
  wabaId,
  webhookPayload,
  wireMessageKinds,
  wireMessages,
  wireNumberErrors,
  wireStatus,
} from './testing/payloads.ts';

const parser = new ZodWebhookParser();
const runs = { numRuns: 1000 };
const parseErrorTypes = ['malformed_json', 'unexpected_object', 'invalid_payload'];

type ChangeSpec =
  | { readonly kind: 'messages'; readonly number: TestNumber; readonly messages: readonly WireMessageKind[] }
  | {
      readonly kind: 'statuses';
      readonly number: TestNumber;
      readonly statuses: readonly WebhookDeliveryStatus[];
    }
  | { readonly kind: 'errors'; readonly number: TestNumber }
  | { readonly kind: 'ignored'; readonly field: string };

type EntrySpec = { readonly wabaId: string; readonly changes: readonly ChangeSpec[] };

const testNumber = fc.constantFrom(numberA, numberB);

const changeSpec: fc.Arbitrary<ChangeSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('messages' as const),
    number: testNumber,
    messages: fc.array(fc.constantFrom(...wireMessageKinds), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({
    kind: fc.constant('statuses' as const),
    number: testNumber,
    statuses: fc.array(fc.constantFrom(...webhookDeliveryStatuses), { minLength: 1, maxLength: 5 }),
  }),
  fc.record({ kind: fc.constant('errors' as const), number: testNumber }),
  fc.record({
    kind: fc.constant('ignored' as const),
    // Fields the bot does not act on (the account fields are read: parser.spec.ts covers them).
    field: fc.constantFrom('flows', 'security', 'history', 'user_preferences'),
  }),
);

const payloadSpec = fc.array(
  fc.record({
    wabaId: fc.constantFrom(wabaId, otherWabaId),
    changes: fc.array(changeSpec, { minLength: 1, maxLength: 4 }),
  }),
  { maxLength: 4 },
);

type Expected = { readonly kind: string; readonly phoneNumberId: string };

/** The payload a spec describes, and the items it holds, in order. */
const build = (entries: readonly EntrySpec[]): { payload: Json; expected: Expected[]; ignored: number } => {
  const expected: Expected[] = [];
  let ignored = 0;
  let sequence = 0;
  const nextWamid = () => `wamid.generated-${sequence++}`;
  const changeOf = (spec: ChangeSpec): Json => {
    if (spec.kind === 'ignored') {
      ignored++;
      return { field: spec.field, value: { event: 'UPDATED' } };
    }
    const { phoneNumberId } = spec.number;
    if (spec.kind === 'messages') {
      expected.push(...spec.messages.map(() => ({ kind: 'message', phoneNumberId })));
      return messagesChange(spec.number, {
        contacts: [contactOf(customerWaId, 'Ana')],
        messages: spec.messages.map((kind) => wireMessages[kind](nextWamid())),
      });
    }
    if (spec.kind === 'statuses') {
      expected.push(...spec.statuses.map(() => ({ kind: 'status', phoneNumberId })));
      return messagesChange(spec.number, {
        statuses: spec.statuses.map((status) => wireStatus(nextWamid(), status)),
      });
    }
    expected.push({ kind: 'error', phoneNumberId });
    return messagesChange(spec.number, { errors: wireNumberErrors });
  };
  const payload = webhookPayload(
    ...entries.map((entry) => wabaEntry(entry.wabaId, ...entry.changes.map(changeOf))),
  );
  return { payload, expected, ignored };
};

type Mutation = { readonly target: number; readonly replacement: fc.JsonValue | undefined };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  target: fc.nat(),
  // `undefined` deletes the key (or array element) instead of replacing it.
  replacement: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined, freq: 3 }),
});

const childrenOf = (value: unknown): [string | number, unknown][] =>
  typeof value === 'object' && value !== null ? Object.entries(value) : [];

/** Every (container, key) pair below `value`, depth first. */
const slotsOf = (value: unknown): [Record<string | number, unknown>, string][] =>
  childrenOf(value).flatMap(([key, child]) => [
    [value as Record<string | number, unknown>, String(key)] as [Record<string | number, unknown>, string],
    ...slotsOf(child),
  ]);

const mutate = (payload: Json, mutations: readonly Mutation[]): unknown => {
  const copy: Json = structuredClone(payload);
  for (const { target, replacement } of mutations) {
    const slots = slotsOf(copy);
    const slot = slots[target % Math.max(slots.length, 1)];
    if (slot === undefined) break;
    const [container, key] = slot;
    if (replacement !== undefined) container[key] = replacement;
    else if (Array.isArray(container)) container.splice(Number(key), 1);
    else delete container[key];
  }
  return copy;
};

/** What must hold for any input: a typed result, never an exception, never an invalid date. */
const expectTotal = (bytes: Uint8Array): void => {
  const result = parser.parse(bytes);
  if (result.isErr()) {
    expect(parseErrorTypes).toContain(result.error.type);
    return;
  }
  const batch: WebhookBatch = result.value;
  for (const item of batch.items) {
    if (item.kind === 'message') expect(Number.isNaN(item.sentAt.getTime())).toBe(false);
    if (item.kind === 'status') expect(Number.isNaN(item.at.getTime())).toBe(false);
  }
  for (const rejected of batch.rejected) {
    expect(rejected.path).toMatch(/^entry\[\d+\]/);
    expect(rejected.reason).not.toBe('');
  }
};

/** Strings a hostile or broken sender may put anywhere: lone surrogates, NUL, and sizes up to 1 MiB. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('\ud800', '\udfff', '\udbff\udfff', '\u0000', 'a', '9', 'é') }),
  fc
    .tuple(fc.constantFrom('9', 'a', '\ud800', '😀'), fc.integer({ min: 1, max: 1024 * 1024 }))
    .map(([unit, count]) => unit.repeat(count)),
);

/** Replaces the strings at some of a payload's string slots with hostile ones. */
const withHostileStrings = (payload: Json, replacements: readonly [number, string][]): unknown => {
  const copy: Json = structuredClone(payload);
  const stringSlots = slotsOf(copy).filter(([container, key]) => typeof container[key] === 'string');
  for (const [target, replacement] of replacements) {
    const slot = stringSlots[target % Math.max(stringSlots.length, 1)];
    if (slot !== undefined) slot[0][slot[1]] = replacement;
  }
  return copy;
};

/** Every string in a stored item can be written to PostgreSQL text and jsonb, and every key fits an index. */
const expectStorable = (batch: WebhookBatch): void => {
  const strings: string[] = [];
  JSON.stringify(batch, (_key, value: unknown) => {
    if (typeof value === 'string') strings.push(value);
    return value;
  });
  for (const text of strings) expect(withoutLoneSurrogates(text)).toBe(text);
  for (const item of batch.items) {
    expect(item.phoneNumberId.length).toBeLessThanOrEqual(32);
    if (item.kind === 'error') continue;
    expect(item.wamid.length).toBeLessThanOrEqual(512);
    const sender = item.kind === 'message' ? item.from : item.recipient;
    expect((sender.waId ?? '').length).toBeLessThanOrEqual(64);
    expect((sender.userId ?? '').length).toBeLessThanOrEqual(128);
    expect((item.displayPhoneNumber ?? '').length).toBeLessThanOrEqual(64);
  }
  for (const rejected of batch.rejected) expect(rejected.reason.length).toBeLessThan(2000);
};

describe('ZodWebhookParser properties', () => {
  test.prop([fc.jsonValue()], runs)('any JSON value parses to a batch or a typed error', (value) => {
    expectTotal(encodeJson(value));
  });

  test.prop([fc.jsonValue()], runs)(
    'any JSON value as the entries of a WhatsApp payload is total',
    (entries) => {
      expectTotal(encodeJson({ object: 'whatsapp_business_account', entry: entries }));
    },
  );

  test.prop([fc.string({ unit: 'binary' })], runs)(
    'any string parses to a batch or a typed error',
    (text) => {
      expectTotal(new TextEncoder().encode(text));
    },
  );

  test.prop([fc.uint8Array({ maxLength: 512 })], runs)(
    'any bytes parse to a batch or a typed error',
    (bytes) => {
      expectTotal(bytes);
    },
  );

  test.prop([payloadSpec, fc.array(mutation, { minLength: 1, maxLength: 8 })], runs)(
    'a valid payload with keys deleted or replaced parses to a batch or a typed error',
    (spec, mutations) => {
      expectTotal(encodeJson(mutate(build(spec).payload, mutations)));
    },
  );

  test.prop([payloadSpec], runs)(
    'a valid payload parses into exactly the items it holds, each routed to its number',
    (spec) => {
      const { payload, expected, ignored } = build(spec);

      const batch = parser.parse(encodeJson(payload))._unsafeUnwrap();

      expect(batch.rejected).toEqual([]);
      expect(batch.ignored).toHaveLength(ignored);
      expect(batch.items.map(({ kind, phoneNumberId }) => ({ kind, phoneNumberId }))).toEqual(expected);
    },
  );

  test.prop([payloadSpec, fc.array(fc.tuple(fc.nat(), hostileString), { minLength: 1, maxLength: 4 })], {
    numRuns: 200,
  })(
    'hostile strings in any field never make the parser produce something PostgreSQL refuses',
    (spec, strings) => {
      const result = parser.parse(encodeJson(withHostileStrings(build(spec).payload, strings)));
      if (result.isOk()) expectStorable(result.value);
    },
  );
});
