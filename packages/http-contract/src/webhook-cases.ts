import { signWebhookBody } from '@prestabot/adapters-meta';
import { expect, it } from 'vitest';
import { type ContractSession, repliesTo, text, waitFor } from './contract-session.ts';
import { postInPieces } from './post-in-pieces.ts';

/** `/webhook` and `/healthz`: the handshake, signed deliveries, what is refused, and outages. */
export const webhookCases = (session: ContractSession): void => {
  const url = (path: string) => `${session.running.url}${path}`;
  const signedPost = async (body: string, path = '/webhook') => {
    const bytes = new TextEncoder().encode(body);
    return fetch(url(path), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signWebhookBody(bytes, session.deployment.appSecret),
      },
      body: bytes,
    });
  };
  const inboxCount = async (phoneNumberId: string) =>
    Number(
      (
        await session.deployment.sql('SELECT count(*) AS n FROM prestabot.inbox WHERE phone_number_id = $1', [
          phoneNumberId,
        ])
      )[0]?.n,
    );

  it('answers the verification handshake with the raw challenge, and 403 to a wrong token', async () => {
    const { deployment, running } = session;
    const ok = await fetch(
      url(`/webhook?hub.mode=subscribe&hub.verify_token=${deployment.verifyToken}&hub.challenge=1158201444`),
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(url('/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1'));
    expect(wrong.status).toBe(403);
    expect(running.output()).not.toContain(deployment.verifyToken);
  });

  it('takes a batch for two tenants and answers each from its own number, with its own token', async () => {
    const { deployment } = session;
    const [a, b] = deployment.tenants;
    const deliveries = await deployment.fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: a.phoneNumberId,
        from: { waId: '56911110001', profileName: 'Ana' },
        content: text('a', 'hola'),
      },
      {
        kind: 'message',
        phoneNumberId: b.phoneNumberId,
        from: { waId: '56911110002', profileName: 'Bea' },
        content: text('b', 'menú'),
      },
    ]);
    expect(deliveries.map((delivery) => delivery.attempts.at(-1)?.status)).toEqual([200]);
    await waitFor(
      'both replies',
      () =>
        repliesTo(deployment.fake, a.phoneNumberId).length >= 1 &&
        repliesTo(deployment.fake, b.phoneNumberId).length >= 1,
    );
    // The fake accepts a number's messages only with that number's token, so acceptance proves it.
    expect(repliesTo(deployment.fake, a.phoneNumberId)[0]).toMatchObject({
      recipient: { phone: '+56911110001' },
    });
    expect(repliesTo(deployment.fake, b.phoneNumberId)[0]).toMatchObject({
      recipient: { phone: '+56911110002' },
    });
    expect(deployment.fake.stats(a.phoneNumberId).errors).toEqual({});
  });

  it('stores a redelivered message once and answers it once', async () => {
    const { deployment } = session;
    const [a] = deployment.tenants;
    const before = repliesTo(deployment.fake, a.phoneNumberId).length;
    const wamid = `wamid.dup.${crypto.randomUUID()}`;
    const deliveries = await deployment.fake.emitWebhook(
      [
        {
          kind: 'message',
          phoneNumberId: a.phoneNumberId,
          wamid,
          from: { waId: '56911110003' },
          content: text('c', 'hola'),
        },
      ],
      { duplicates: 2 },
    );
    expect(deliveries.map((delivery) => delivery.attempts.at(-1)?.status)).toEqual([200, 200, 200]);
    await waitFor('the reply', () => repliesTo(deployment.fake, a.phoneNumberId).length > before);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(repliesTo(deployment.fake, a.phoneNumberId).length).toBe(before + 1);
    expect(
      Number(
        (
          await deployment.sql('SELECT count(*) AS n FROM prestabot.inbox WHERE delivery_key = $1', [wamid])
        )[0]?.n,
      ),
    ).toBe(1);
  });

  it('acknowledges a number nobody has with 200 and stores nothing for it', async () => {
    const { deployment, running } = session;
    const deliveries = await deployment.fake.emitWebhook([
      {
        kind: 'message',
        phoneNumberId: deployment.strangerNumber,
        from: { waId: '56911110004' },
        content: text('d', 'hola'),
      },
    ]);
    expect(deliveries[0]?.attempts.at(-1)?.status).toBe(200);
    expect(await inboxCount(deployment.strangerNumber)).toBe(0);
    // The log line reaches us through the host's stdout pipe, which on a busy machine trails the 200.
    await waitFor('the log line with the fix', () =>
      running
        .output()
        .includes(
          `prestabot numbers add --tenant <tenant-id> --phone-number-id ${deployment.strangerNumber}`,
        ),
    );
  });

  it('refuses a wrong signature with 401, and bad bodies with 400 and 413, storing nothing', async () => {
    const { deployment } = session;
    const [a] = deployment.tenants;
    const before = await inboxCount(a.phoneNumberId);
    const forged = await deployment.fake.emitWebhook(
      [
        {
          kind: 'message',
          phoneNumberId: a.phoneNumberId,
          from: { waId: '56911110005' },
          content: text('e', 'hola'),
        },
      ],
      { signWith: 'not-the-app-secret' },
    );
    expect(forged[0]?.attempts.at(-1)?.status).toBe(401);
    expect((await fetch(url('/webhook'), { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await signedPost('{not json')).status).toBe(400);
    expect((await signedPost(JSON.stringify({ object: 'page', entry: [] }))).status).toBe(400);
    const oversize = await fetch(url('/webhook'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(3 * 1024 * 1024 + 1),
    });
    expect(oversize.status).toBe(413);
    // Far over the limit and still being sent when the host has seen enough: the sender reads the 413, not a reset.
    expect(await postInPieces(url('/webhook'), 60 * 1024 * 1024)).toMatchObject({ status: 413 });
    expect(await inboxCount(a.phoneNumberId)).toBe(before);
  });

  /** A delivery for one number as Meta posts it, with whatever strings a sender put in it. */
  const messagesDelivery = (
    phoneNumberId: string,
    messages: readonly { readonly wamid: string; readonly from: string; readonly body: string }[],
    contacts: readonly { readonly waId: string; readonly name: string }[],
  ) =>
    JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
                contacts: contacts.map(({ waId, name }) => ({ wa_id: waId, profile: { name } })),
                messages: messages.map(({ wamid, from, body }) => ({
                  id: wamid,
                  from,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body },
                })),
              },
            },
          ],
        },
      ],
    });
  // A message the host answered while storing it is kept without its item (null here); one stored for a
  // worker (at the edge, say) keeps it.
  const storedBodies = async (wamids: readonly string[]) =>
    Object.fromEntries(
      (
        await session.deployment.sql(
          "SELECT delivery_key, item->'content'->>'body' AS body FROM prestabot.inbox WHERE delivery_key = ANY($1)",
          [wamids],
        )
      ).map((row) => [row.delivery_key, row.body]),
    );

  it('takes a signed delivery with lone surrogates in its strings: 200, every message stored', async () => {
    const { deployment } = session;
    const [a] = deployment.tenants;
    const [bad, good] = [`wamid.lone.${crypto.randomUUID()}`, `wamid.ok.${crypto.randomUUID()}`];
    const body = messagesDelivery(
      a.phoneNumberId,
      [
        { wamid: bad, from: '56911110010', body: 'hola\ud800' },
        { wamid: good, from: '56911110011', body: 'hola' },
      ],
      [{ waId: '56911110010', name: 'Ana\udc00' }],
    );
    expect(body).toContain('\\ud800');
    expect((await signedPost(body)).status).toBe(200);
    const stored = await storedBodies([bad, good]);
    expect(Object.keys(stored).sort()).toEqual([bad, good].sort());
    expect([null, 'hola\ufffd']).toContain(stored[bad]);
    expect([null, 'hola']).toContain(stored[good]);
  });

  it('takes a signed delivery with a 1 MiB sender id: 200, the rest of it stored', async () => {
    const { deployment, running } = session;
    const [a] = deployment.tenants;
    const [huge, good] = [`wamid.huge.${crypto.randomUUID()}`, `wamid.ok.${crypto.randomUUID()}`];
    const body = messagesDelivery(
      a.phoneNumberId,
      [
        { wamid: huge, from: '5'.repeat(1024 * 1024), body: 'hola' },
        { wamid: good, from: '56911110012', body: 'hola' },
      ],
      [],
    );
    expect((await signedPost(body)).status).toBe(200);
    expect(Object.keys(await storedBodies([huge, good]))).toEqual([good]);
    expect(running.output()).toContain('webhook item could not be read');
  });

  it('reports health, and answers 503 while the database is down so Meta retries, losing nothing', async () => {
    const { deployment } = session;
    const [a] = deployment.tenants;
    expect((await fetch(url('/healthz'))).status).toBe(200);
    const before = repliesTo(deployment.fake, a.phoneNumberId).length;
    // The same message, delivered during the outage and again after it, as Meta retries.
    const message = [
      {
        kind: 'message',
        phoneNumberId: a.phoneNumberId,
        wamid: 'wamid.during-outage',
        from: { waId: '56911110006' },
        content: text('f', 'hola'),
      },
    ] as const;
    await deployment.setDatabaseAvailable(false);
    try {
      const refused = await deployment.fake.emitWebhook(message);
      expect(refused[0]?.attempts.at(-1)?.status).toBe(503);
      expect((await fetch(url('/healthz'))).status).toBe(503);
    } finally {
      await deployment.setDatabaseAvailable(true);
    }
    const retried = await deployment.fake.emitWebhook(message);
    expect(retried[0]?.attempts.at(-1)?.status).toBe(200);
    await waitFor(
      'the reply after the outage',
      () => repliesTo(deployment.fake, a.phoneNumberId).length > before,
    );
  });
};
