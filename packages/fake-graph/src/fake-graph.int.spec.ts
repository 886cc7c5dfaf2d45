import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeSendBody } from '@prestabot/adapters-meta';
import { everyMessageType } from '@prestabot/application/testing';
import type { E164, OutboundMessage, Wamid } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGraph, type FakeGraphOptions, startFakeGraph } from './fake-graph.ts';

const numberA = { phoneNumberId: '106540352242922', accessToken: 'EAAG-token-of-a', ratePerSecond: 10 };
const numberB = { phoneNumberId: '113355779900112', accessToken: 'EAAG-token-of-b' };
const to = { phone: '+56911112222' as E164 };

/** What the tests read of an answer: Graph's error envelope, or the fields of a success. */
type AnswerBody = {
  readonly error?: {
    readonly code: number;
    readonly error_subcode?: number;
    readonly error_data: { readonly details: string };
    readonly [field: string]: unknown;
  };
  readonly messages?: readonly { readonly id: string; readonly [field: string]: unknown }[];
  readonly [field: string]: unknown;
};

type Answer = {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly json: AnswerBody;
};

const call = async (
  fake: FakeGraph,
  path: string,
  options: {
    method?: 'GET' | 'POST' | 'PUT';
    token?: string;
    json?: unknown;
    body?: string;
    contentType?: string;
  } = {},
): Promise<Answer> => {
  const response = await request(`${fake.url}${path}`, {
    method: options.method ?? 'POST',
    headers: {
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      'content-type': options.contentType ?? 'application/json',
    },
    body: options.body ?? (options.json === undefined ? null : JSON.stringify(options.json)),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    json: text === '' ? undefined : JSON.parse(text),
  };
};

const send = (
  fake: FakeGraph,
  message: OutboundMessage,
  options: { token?: string; number?: string; version?: string } = {},
) =>
  call(fake, `/${options.version ?? 'v24.0'}/${options.number ?? numberA.phoneNumberId}/messages`, {
    token: options.token ?? numberA.accessToken,
    json: encodeSendBody(message.type === 'mark_read' ? { message } : { message, recipient: to }),
  });

const text: OutboundMessage = { type: 'text', body: 'hola', previewUrl: false };

describe('fake Graph API: POST /{version}/{phone_number_id}/messages', () => {
  let fake: FakeGraph;
  const start = async (options: FakeGraphOptions = {}) => {
    fake = await startFakeGraph({ numbers: [numberA, numberB], ...options });
    return fake;
  };
  afterEach(async () => {
    await fake.close();
  });

  it('accepts every message type the bot sends and answers like Graph', async () => {
    await start();
    for (const message of everyMessageType) {
      const answer = await send(fake, message);
      expect(answer.status).toBe(200);
      expect(answer.headers['facebook-api-version']).toBe('v24.0');
      if (message.type === 'mark_read') {
        expect(answer.json).toEqual({ success: true });
      } else {
        expect(answer.json).toEqual({
          messaging_product: 'whatsapp',
          contacts: [{ input: '56911112222', wa_id: '56911112222' }],
          messages: [{ id: expect.stringMatching(/^wamid\.[A-Za-z0-9+/=]+$/) }],
        });
      }
    }
    expect(fake.accepted(numberA.phoneNumberId).map((accepted) => accepted.message)).toEqual(
      everyMessageType,
    );
  });

  it('answers a business-scoped recipient with its user id', async () => {
    await start();
    const answer = await call(fake, `/v25.0/${numberA.phoneNumberId}/messages`, {
      token: numberA.accessToken,
      json: encodeSendBody({ message: text, recipient: { userId: 'CL.ABC123' } }),
    });
    expect(answer.json.contacts).toEqual([{ input: 'CL.ABC123', user_id: 'CL.ABC123' }]);
    expect(answer.headers['facebook-api-version']).toBe('v25.0');
  });

  it.each([
    ['no token', undefined],
    ["another number's token", numberB.accessToken],
    ['a made-up token', 'EAAG-guess'],
  ])('refuses %s with 401 and code 190', async (_case, token) => {
    await start();
    const answer = await call(fake, `/v24.0/${numberA.phoneNumberId}/messages`, {
      ...defined({ token }),
      json: encodeSendBody({ message: text, recipient: to }),
    });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toMatchObject({
      code: 190,
      type: 'OAuthException',
      fbtrace_id: expect.any(String),
    });
    expect(fake.accepted(numberA.phoneNumberId)).toEqual([]);
  });

  it('refuses an expired token with 190 and subcode 463 until the token is rotated', async () => {
    await start();
    fake.expireToken(numberA.phoneNumberId);
    const expired = await send(fake, text);
    expect(expired.status).toBe(401);
    expect(expired.json.error).toMatchObject({ code: 190, error_subcode: 463 });
    fake.rotateToken(numberA.phoneNumberId, 'EAAG-rotated');
    expect((await send(fake, text)).status).toBe(401);
    expect((await send(fake, text, { token: 'EAAG-rotated' })).status).toBe(200);
  });

  it.each<[string, OutboundMessage, string]>([
    [
      'a text over 4096 characters',
      { type: 'text', body: 'a'.repeat(4097), previewUrl: false },
      'body must have at most 4096',
    ],
    [
      'four reply buttons',
      {
        type: 'buttons',
        body: 'x',
        buttons: ['a', 'b', 'c', 'd'].map((id) => ({ id, title: id })),
      },
      'buttons must have 1 to 3 buttons (has 4)',
    ],
    [
      'a button title over 20 characters',
      { type: 'buttons', body: 'x', buttons: [{ id: 'a', title: 'Un título demasiado largo' }] },
      'buttons[0].title must have at most 20 characters',
    ],
    [
      'eleven list rows',
      {
        type: 'list',
        body: 'x',
        buttonLabel: 'Ver',
        sections: [
          { rows: Array.from({ length: 11 }, (_, index) => ({ id: `r${index}`, title: `Row ${index}` })) },
        ],
      },
      'sections must have 1 to 10 rows in total (has 11)',
    ],
    [
      'a Flow button with an emoji',
      {
        type: 'flow',
        body: 'x',
        flowId: '1',
        flowToken: 't',
        cta: 'Perfil 👤',
        mode: 'published',
        action: { type: 'data_exchange' },
      },
      'cta must not contain emoji',
    ],
    [
      'a badly named template parameter',
      {
        type: 'template',
        name: 'loan_due',
        language: 'es',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana', name: 'First-Name' }] }],
      },
      'components[0].parameters[0].name must match ^[a-z_]{1,20}$',
    ],
  ])(
    'refuses %s with 400, code 100 and details naming the field and rule',
    async (_case, message, details) => {
      await start();
      const answer = await send(fake, message);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({ code: 100, type: 'OAuthException' });
      expect(answer.json.error?.error_data.details).toContain(details);
    },
  );

  it.each([
    [
      'without messaging_product',
      { to: '56911112222', type: 'text', text: { body: 'x' } },
      'messaging_product',
    ],
    [
      'without a recipient',
      { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } },
      'to is required',
    ],
    [
      'with callback data over 512 bytes',
      {
        messaging_product: 'whatsapp',
        to: '56911112222',
        text: { body: 'x' },
        biz_opaque_callback_data: 'x'.repeat(513),
      },
      'biz_opaque_callback_data must have at most 512 bytes',
    ],
  ])('refuses a body %s with code 100', async (_case, json, details) => {
    await start();
    const answer = await call(fake, `/v24.0/${numberA.phoneNumberId}/messages`, {
      token: numberA.accessToken,
      json,
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error?.code).toBe(100);
    expect(answer.json.error?.error_data.details).toContain(details);
  });

  it('refuses a body that is not JSON with code 100', async () => {
    await start();
    const answer = await call(fake, `/v24.0/${numberA.phoneNumberId}/messages`, {
      token: numberA.accessToken,
      body: '{"messaging_product":',
    });
    expect([answer.status, answer.json.error?.code]).toEqual([400, 100]);
  });

  it('answers an unknown version format with 400, an unknown number with code 100', async () => {
    await start();
    expect((await send(fake, text, { version: 'latest' })).status).toBe(400);
    const unknown = await send(fake, text, { number: '999' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('rejects what goes beyond the rate in a sliding second with 130429 (HTTP 429), and counts only accepted ones', async () => {
    await start({ pairLimit: false });
    const answers = await Promise.all(Array.from({ length: 25 }, () => send(fake, text)));
    const accepted = answers.filter((answer) => answer.status === 200);
    const throttled = answers.filter((answer) => answer.json.error?.code === 130429);
    expect(accepted).toHaveLength(numberA.ratePerSecond);
    expect(throttled).toHaveLength(25 - numberA.ratePerSecond);
    expect(throttled.every((answer) => answer.status === 429)).toBe(true);
    expect(fake.stats(numberA.phoneNumberId)).toEqual({ accepted: 10, dropped: 0, errors: { 130429: 15 } });
    // Another number has its own allowance.
    expect(
      (await send(fake, text, { number: numberB.phoneNumberId, token: numberB.accessToken })).status,
    ).toBe(200);
    // Once the first second has slid past, the number may send again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await send(fake, text)).status).toBe(200);
  });

  it('answers throttling with HTTP 400 when configured so', async () => {
    await start({ pairLimit: false, throttlingHttpStatus: 400 });
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(fake, text)));
    expect(
      answers.filter((answer) => answer.status === 400).map((answer) => answer.json.error?.code),
    ).toEqual([130429, 130429]);
  });

  it('rejects a burst to one person beyond the pair limit with 131056, without holding other recipients', async () => {
    await start({ pairLimit: { burst: 3, refillMs: 60_000 } });
    const toAna = [
      await send(fake, text),
      await send(fake, text),
      await send(fake, text),
      await send(fake, text),
    ];
    expect(toAna.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    expect(toAna[3]!.json.error).toMatchObject({ code: 131056, type: 'OAuthException' });
    const toPedro = await call(fake, `/v24.0/${numberA.phoneNumberId}/messages`, {
      token: numberA.accessToken,
      json: encodeSendBody({ message: text, recipient: { phone: '+56933334444' as E164 } }),
    });
    expect(toPedro.status).toBe(200);
  });

  it('allows the pair burst Meta allows by default, 45 messages, then refuses', async () => {
    await start({ numbers: [{ ...numberA, ratePerSecond: 100 }] });
    const answers = await Promise.all(Array.from({ length: 46 }, () => send(fake, text)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(45);
    expect(answers.filter((answer) => answer.json.error?.code === 131056)).toHaveLength(1);
  });

  it('injects server errors with codes 131000, 1 and 2 at the configured rate', async () => {
    await start({ pairLimit: false, numbers: [{ ...numberA, ratePerSecond: 100 }] });
    fake.setFaults({ serverErrorRate: 1 });
    const answers = await Promise.all(Array.from({ length: 30 }, () => send(fake, text)));
    expect(answers.every((answer) => answer.status >= 500)).toBe(true);
    expect(new Set(answers.map((answer) => answer.json.error?.code))).toEqual(new Set([131000, 1, 2]));
    fake.setFaults({ serverErrorRate: 0 }, numberA.phoneNumberId);
    expect((await send(fake, text)).status).toBe(200);
  });

  it('adds latency, fixed or random', async () => {
    await start();
    fake.setFaults({ latencyMs: { min: 150, max: 200 } }, numberA.phoneNumberId);
    const started = performance.now();
    await send(fake, text);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('drops connections mid-request', async () => {
    await start();
    fake.dropNext(numberA.phoneNumberId);
    await expect(send(fake, text)).rejects.toThrow();
    expect((await send(fake, text)).status).toBe(200);
    expect(fake.stats(numberA.phoneNumberId)).toMatchObject({ accepted: 1, dropped: 1 });
  });

  it('loses the answer of an accepted send at the configured rate: the message counts as sent', async () => {
    await start();
    fake.setFaults({ lostAnswerRate: 1 }, numberA.phoneNumberId);
    await expect(send(fake, text)).rejects.toThrow();
    expect(fake.stats(numberA.phoneNumberId)).toMatchObject({ accepted: 1, dropped: 0 });
    expect(fake.accepted(numberA.phoneNumberId)).toHaveLength(1);
  });

  it('answers a scripted error with its code, status and Retry-After', async () => {
    await start();
    fake.failNext(numberA.phoneNumberId, { code: 131000, retryAfterSeconds: 3 }, 2);
    const answers = [await send(fake, text), await send(fake, text), await send(fake, text)];
    expect(answers.map((answer) => answer.status)).toEqual([500, 500, 200]);
    expect(answers[0]!.headers['retry-after']).toBe('3');
    expect(answers[0]!.json.error).toMatchObject({ code: 131000, is_transient: true });
  });

  it('refuses mark-as-read of an unknown message when told to check ids', async () => {
    await start({ requireKnownMessageIds: true });
    const markRead = everyMessageType.find((message) => message.type === 'mark_read')!;
    const answer = await send(fake, markRead);
    expect([answer.status, answer.json.error?.code]).toEqual([400, 100]);
    const sent = await send(fake, text);
    const reaction: OutboundMessage = {
      type: 'reaction',
      messageId: sent.json.messages?.[0]?.id as Wamid,
      emoji: '👍',
    };
    expect((await send(fake, reaction)).status).toBe(200);
  });
});

describe('fake Graph API: whatsapp_business_encryption', () => {
  let fake: FakeGraph;
  afterEach(async () => {
    await fake.close();
  });
  const publicKey = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----';

  it('stores the key from a url-encoded or a multipart form, per number', async () => {
    fake = await startFakeGraph({ numbers: [numberA, numberB] });
    const path = (number: string) => `/v24.0/${number}/whatsapp_business_encryption`;
    const urlEncoded = await call(fake, path(numberA.phoneNumberId), {
      token: numberA.accessToken,
      body: new URLSearchParams({ business_public_key: publicKey }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(urlEncoded.json).toEqual({ success: true });
    const form = new FormData();
    form.set('business_public_key', `${publicKey}\n`);
    const multipart = new Response(form);
    const multipartAnswer = await call(fake, path(numberB.phoneNumberId), {
      token: numberB.accessToken,
      body: await multipart.text(),
      contentType: multipart.headers.get('content-type')!,
    });
    expect(multipartAnswer.json).toEqual({ success: true });
    expect(fake.businessPublicKey(numberA.phoneNumberId)).toBe(publicKey);
    // Multipart bodies carry line breaks as CRLF.
    expect(fake.businessPublicKey(numberB.phoneNumberId)?.replaceAll('\r\n', '\n')).toBe(`${publicKey}\n`);
    const current = await call(fake, path(numberA.phoneNumberId), {
      method: 'GET',
      token: numberA.accessToken,
    });
    expect(current.json).toEqual({
      data: [{ business_public_key: publicKey, business_public_key_signature_status: 'VALID' }],
    });
  });

  it('refuses a form without a PEM key', async () => {
    fake = await startFakeGraph({ numbers: [numberA] });
    const answer = await call(fake, `/v24.0/${numberA.phoneNumberId}/whatsapp_business_encryption`, {
      token: numberA.accessToken,
      body: 'business_public_key=nope',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect([answer.status, answer.json.error?.code]).toEqual([400, 100]);
  });
});

describe('fake Graph API: control API under /_fake/', () => {
  let fake: FakeGraph;
  afterEach(async () => {
    await fake.close();
  });

  it('registers numbers, rotates and expires tokens, scripts failures and reports what it accepted', async () => {
    fake = await startFakeGraph();
    expect((await call(fake, '/_fake/numbers', { json: { ...numberA, ratePerSecond: 5 } })).json).toEqual({
      ok: true,
    });
    expect((await send(fake, text)).status).toBe(200);
    await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/fail-next`, {
      json: { code: 131000, count: 1 },
    });
    expect((await send(fake, text)).json.error?.code).toBe(131000);
    await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/expire-token`);
    expect((await send(fake, text)).json.error).toMatchObject({ code: 190, error_subcode: 463 });
    await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/token`, { json: { accessToken: 'EAAG-new' } });
    expect((await send(fake, text, { token: 'EAAG-new' })).status).toBe(200);
    await call(fake, '/_fake/expire-tokens');
    expect((await send(fake, text, { token: 'EAAG-new' })).json.error).toMatchObject({
      code: 190,
      error_subcode: 463,
    });
    await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/token`, { json: { accessToken: 'EAAG-new' } });
    const messages = await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/messages`, { method: 'GET' });
    expect(messages.json.messages).toHaveLength(2);
    expect(messages.json.messages?.[0]).toMatchObject({ message: text, recipient: to, version: 'v24.0' });
    const stats = await call(fake, `/_fake/numbers/${numberA.phoneNumberId}/stats`, { method: 'GET' });
    expect(stats.json).toEqual({ accepted: 2, dropped: 0, errors: { 131000: 1, 190: 2 } });
    const numbers = await call(fake, '/_fake/numbers', { method: 'GET' });
    expect(JSON.stringify(numbers.json)).not.toContain('EAAG');
  });

  it('sets and clears faults, and names a bad field', async () => {
    fake = await startFakeGraph({ numbers: [numberA] });
    expect(
      (
        await call(fake, '/_fake/faults', {
          method: 'PUT',
          json: { serverErrorRate: 1, serverErrorCodes: [2] },
        })
      ).json,
    ).toEqual({ ok: true });
    expect((await send(fake, text)).status).toBe(503);
    await call(fake, '/_fake/reset');
    expect((await send(fake, text)).status).toBe(200);
    const bad = await call(fake, '/_fake/faults', { method: 'PUT', json: { serverErrorRate: 2 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('serverErrorRate');
    expect((await call(fake, '/_fake/numbers/42/expire-token')).status).toBe(404);
  });
});

describe('fake Graph CLI', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

  it.skipIf(!existsSync(cli))(
    'prints its URL as one JSON line and serves the numbers it was given',
    async () => {
      const child = execFile(process.execPath, [
        cli,
        '--port',
        '0',
        '--number',
        `${numberA.phoneNumberId}:${numberA.accessToken}:20`,
      ]);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
          child.once('exit', (code) => reject(new Error(`fake-graph exited with ${code}`)));
        });
        const { url, numbers } = JSON.parse(line) as { url: string; numbers: string[] };
        expect(numbers).toEqual([numberA.phoneNumberId]);
        const response = await request(`${url}/v24.0/${numberA.phoneNumberId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${numberA.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(encodeSendBody({ message: text, recipient: to })),
        });
        expect(response.statusCode).toBe(200);
        await response.body.dump();
      } finally {
        child.kill('SIGTERM');
      }
    },
  );

  it.skipIf(!existsSync(cli))('exits with 2 and one line naming a bad argument', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, '--number', 'abc'], (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'fake-graph: --number "abc" must be <phone_number_id>:<token>[:<rate>[:<waba_id>]]',
    );
  });
});
