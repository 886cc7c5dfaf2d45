import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createAesGcmSecretCipher } from '@prestabot/adapters-webcrypto';
import type { InboundResponder } from '@prestabot/application';
import { ManageTenants } from '@prestabot/application';
import { expectOk, InMemoryDatabase, RecordingLogger, SequentialIds } from '@prestabot/application/testing';
import { okAsync } from '@prestabot/domain';
import { freeLoopbackPort, startFakeGraph } from '@prestabot/fake-graph';
import { createPrestaBot, type PrestaBot, type PrestaBotOptions } from '@prestabot/runtime';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './contract-session.ts';
import { prepareDeployment, type TestDeployment } from './deployment.ts';

const serverUrl = process.env.TEST_DATABASE_URL;

const headersOf = (incoming: IncomingHttpHeaders): Headers =>
  new Headers(
    Object.entries(incoming).flatMap(([name, value]) =>
      value === undefined
        ? []
        : [[name, Array.isArray(value) ? value.join(', ') : value] as [string, string]],
    ),
  );

/** What an application's own server does with the bot: hands it each request under `/whatsapp`. */
const serveUnderWhatsapp = async (bot: PrestaBot, port: number): Promise<Server> => {
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = await bot.fetch(
      new Request(`http://127.0.0.1:${port}/whatsapp${request.url}`, {
        method: request.method ?? 'GET',
        headers: headersOf(request.headers),
        ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
      }),
    );
    response.writeHead(answer.status, Object.fromEntries(answer.headers));
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
};

/** Answers "ping" itself and leaves everything else to the loan bot. */
const pingResponder: InboundResponder = {
  respond: (context) =>
    okAsync(
      context.message.content.type === 'text' && context.message.content.body === 'ping'
        ? { replies: [{ type: 'text' as const, body: 'pong', previewUrl: false }] }
        : undefined,
    ),
};

describe.skipIf(serverUrl === undefined)(
  `createPrestaBot, embedded in an application${serverUrl === undefined ? ' (skipped: TEST_DATABASE_URL is not set)' : ''}`,
  () => {
    let deployment: TestDeployment & { readonly port: number };
    let pool: pg.Pool;
    let bot: PrestaBot;
    let server: Server;

    const optionsOf = (env: Readonly<Record<string, string>>): PrestaBotOptions => ({
      pool,
      encryptionKey: env.PRESTABOT_ENCRYPTION_KEY,
      verifyToken: env.WHATSAPP_VERIFY_TOKEN,
      appSecret: env.META_APP_SECRET,
      graph: { url: env.META_GRAPH_URL },
      responders: (loanBot) => [pingResponder, ...loanBot],
      logger: new RecordingLogger(),
    });

    beforeAll(async () => {
      deployment = await prepareDeployment(serverUrl!);
      pool = new pg.Pool({ connectionString: deployment.databaseUrl, max: 4 });
      bot = await expectOk(createPrestaBot(optionsOf(deployment.env)));
      bot.startWorkers();
      server = await serveUnderWhatsapp(bot, deployment.port);
    }, 180_000);

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
      await bot?.stop();
      await pool?.end();
      await deployment?.close();
    }, 60_000);

    it('answers a signed webhook through fetch, with its own responder first and the loan bot after', async () => {
      const [a] = deployment.tenants;
      const from = (waId: string) => ({ waId, profileName: 'Ana' });
      const deliveries = await deployment.fake.emitWebhook([
        {
          kind: 'message',
          phoneNumberId: a.phoneNumberId,
          from: from('56922220001'),
          content: { type: 'text', body: 'ping' },
        },
        {
          kind: 'message',
          phoneNumberId: a.phoneNumberId,
          from: from('56922220002'),
          content: { type: 'text', body: 'menú' },
        },
      ]);
      expect(deliveries.map((delivery) => delivery.attempts.at(-1)?.status)).toEqual([200]);
      const accepted = () => deployment.fake.accepted(a.phoneNumberId);
      await waitFor('both replies', () => accepted().length >= 2);
      const bodyTo = (phone: string) =>
        JSON.stringify(accepted().find((message) => JSON.stringify(message.recipient).includes(phone)));
      expect(bodyTo('+56922220001')).toContain('pong');
      expect(bodyTo('+56922220002')).not.toContain('pong');
    });

    it('serves liveness and readiness under the mount, and a wrong option is a configuration error', async () => {
      const base = `http://127.0.0.1:${deployment.port}/whatsapp`;
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
      const refused = await createPrestaBot({ ...optionsOf(deployment.env), graph: { url: 'ftp://graph' } });
      expect(refused._unsafeUnwrapErr()).toMatchObject({ type: 'configuration' });
      expect(refused._unsafeUnwrapErr().message).toContain('META_GRAPH_URL');
    });

    it('leaves the application its pool when it stops', async () => {
      const second = await expectOk(createPrestaBot(optionsOf(deployment.env)));
      await second.stop();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  },
);

describe('createPrestaBot over storage the application brings', () => {
  it('runs on any storage that passes the contract suites: here the in-memory one, no database at all', async () => {
    const port = await freeLoopbackPort();
    const appSecret = `app-secret-${crypto.randomUUID()}`;
    const number = { phoneNumberId: '106540352299001', accessToken: `EAAG-${crypto.randomUUID()}` };
    const fake = await startFakeGraph({
      numbers: [number],
      webhook: { url: `http://127.0.0.1:${port}/webhook`, appSecret, maxAttempts: 1 },
      pairLimit: false,
    });
    const encryptionKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const database = new InMemoryDatabase();
    const storage = database.harness();
    const cipher = await expectOk(createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: encryptionKey }));
    await expectOk(
      new ManageTenants({ ...storage, cipher, ids: new SequentialIds() }).addTenant({
        name: 'In memory',
        wabaId: '102290129340398',
        ...number,
      }),
    );
    const bot = await expectOk(
      createPrestaBot({
        storage,
        encryptionKey,
        appSecret,
        graph: { url: fake.url },
        logger: new RecordingLogger(),
      }),
    );
    bot.startWorkers();
    const server = await serveUnderWhatsapp(bot, port);
    try {
      const deliveries = await fake.emitWebhook([
        {
          kind: 'message',
          phoneNumberId: number.phoneNumberId,
          from: { waId: '56933330001', profileName: 'Ana' },
          content: { type: 'text', body: 'menú' },
        },
      ]);
      expect(deliveries.map((delivery) => delivery.attempts.at(-1)?.status)).toEqual([200]);
      await waitFor('the reply', () => fake.accepted(number.phoneNumberId).length >= 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await bot.stop();
      await fake.close();
    }
  });
});
