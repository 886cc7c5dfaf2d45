import { signWebhookBody } from '@prestabot/adapters-meta';
import { textWebhook } from './meta.ts';

/** A small seeded generator (mulberry32): the same seed gives the same payloads, so a failure replays. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const pick = <T>(random: () => number, choices: readonly T[]): T =>
  choices[Math.floor(random() * choices.length)]!;

/** Strings that have broken parsers and databases: lone surrogates, NUL, huge, odd escapes. */
const nastyString = (random: () => number): string =>
  pick(random, [
    () => '\ud800',
    () => `hola \udc00 mundo`,
    () => 'x\u0000y',
    () => '😀'.repeat(1 + Math.floor(random() * 50)).slice(1),
    () => 'a'.repeat(1 + Math.floor(random() * 300_000)),
    () => '9'.repeat(1 + Math.floor(random() * 2_000)),
    () => '',
    () => '{"nested":"json"}',
    () => '\\u0000',
    () => `wamid.${'='.repeat(600)}`,
  ])();

const randomValue = (random: () => number, depth = 0): Json =>
  pick(random, [
    () => null,
    () => random() < 0.5,
    () => Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1),
    () => random() * 1e308,
    () => nastyString(random),
    () =>
      depth > 3 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1)),
    () => (depth > 3 ? {} : { [nastyString(random).slice(0, 20)]: randomValue(random, depth + 1) }),
    () => JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) as Json,
  ])();

/** Every path to a value inside the tree, the root excluded. */
const pathsOf = (value: Json, prefix: (string | number)[] = []): (string | number)[][] => {
  if (value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value)
    ? value.map((_, index) => index)
    : Object.keys(value);
  return keys.flatMap((key) => {
    const path = [...prefix, key];
    return [path, ...pathsOf((value as Record<string | number, Json>)[key] as Json, path)];
  });
};

/** One structural change at a random place: a value replaced, removed, a list grown, a key added. */
const mutateOnce = (tree: Json, random: () => number): void => {
  const paths = pathsOf(tree);
  if (paths.length === 0) return;
  const path = pick(random, paths);
  const parent = path
    .slice(0, -1)
    .reduce<Json>((node, key) => (node as Record<string | number, Json>)[key] as Json, tree) as
    | Json[]
    | Record<string, Json>;
  const key = path[path.length - 1]!;
  const slot = parent as Record<string | number, Json>;
  pick(random, [
    () => {
      slot[key] = randomValue(random);
    },
    () => {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete slot[key];
    },
    () => {
      if (Array.isArray(parent))
        parent.push(
          ...Array.from({ length: 1 + Math.floor(random() * 20) }, () =>
            structuredClone(parent[Number(key)] ?? null),
          ),
        );
      else slot[`${String(key)}_extra`] = randomValue(random);
    },
    () => {
      const value = slot[key];
      if (typeof value === 'string') slot[key] = nastyString(random);
      else slot[key] = String(value);
    },
  ])();
};

/** A valid webhook from a fuzz sender (prefix 568, never a measured sender), changed one to three times. */
export const mutatedWebhook = (phoneNumberId: string, index: number, random: () => number): Buffer => {
  const sender = `568${String(index).padStart(8, '0')}`;
  const tree = textWebhook(phoneNumberId, sender, `wamid.fuzz${String(index).padStart(10, '0')}`) as Json;
  const changes = 1 + Math.floor(random() * 3);
  for (let change = 0; change < changes; change += 1) mutateOnce(tree, random);
  const text = JSON.stringify(tree);
  // A few bodies are cut short or have a byte flipped: still signed, so they reach the parser.
  const roll = random();
  if (roll < 0.05) return Buffer.from(text.slice(0, Math.floor(random() * text.length)));
  if (roll < 0.1) {
    const bytes = Buffer.from(text);
    const at = Math.floor(random() * bytes.length);
    bytes[at] = Math.floor(random() * 256);
    return bytes;
  }
  return Buffer.from(text);
};

export type FuzzPayload = {
  readonly body: Buffer;
  readonly signature: string | undefined;
  readonly signed: boolean;
};

/** `signed` mutated webhooks signed with the app secret, and `unsigned` junk with no or a wrong signature. */
export const fuzzPayloads = async (
  phoneNumberIds: readonly string[],
  appSecret: string,
  counts: { readonly signed: number; readonly unsigned: number },
  random: () => number,
): Promise<FuzzPayload[]> => {
  const signed = await Promise.all(
    Array.from({ length: counts.signed }, async (_, index) => {
      const body = mutatedWebhook(pick(random, phoneNumberIds), index, random);
      return { body, signature: await signWebhookBody(body, appSecret), signed: true };
    }),
  );
  const unsigned = Array.from({ length: counts.unsigned }, (_, index) => {
    const body =
      random() < 0.5
        ? Buffer.from(crypto.getRandomValues(new Uint8Array(1 + Math.floor(random() * 4096))))
        : mutatedWebhook(pick(random, phoneNumberIds), counts.signed + index, random);
    const signature = pick(random, [
      undefined,
      'sha256=',
      `sha256=${'0'.repeat(64)}`,
      'md5=abc',
      `sha256=${'zz'.repeat(32)}`,
      'x'.repeat(10_000),
    ]);
    return { body, signature, signed: false };
  });
  return [...signed, ...unsigned];
};
