import { encryptFlowRequest, importFlowPublicKey, signWebhookBody } from '@prestabot/adapters-meta';
import { expectOk } from '@prestabot/application/testing';
import { FakeFlowsClient, type FakeGraph } from '@prestabot/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDeployment, type TestDeployment, type TestTenant } from './deployment.ts';
import type { HostUnderTest, StartedHost } from './host-process.ts';

/** A real PostgreSQL for the hosts; CI sets it, and the suite says why it skips without one. */
const serverUrl = process.env.TEST_DATABASE_URL;

const text = (from: string, body: string) => ({ type: 'text' as const, body, from });

const repliesTo = (fake: FakeGraph, phoneNumberId: string) => fake.accepted(phoneNumberId);

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
export const waitFor = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/**
 * What Meta and operators can rely on from either host, checked against it running as a real process
 * on real PostgreSQL, with the fake Graph API delivering signed webhooks and taking the replies.
 */
export const describeHttpContract = (host: HostUnderTest): void => {
  describe.skipIf(serverUrl === undefined)(
    `HTTP contract: ${host.name}${serverUrl === undefined ? ' (skipped: TEST_DATABASE_URL is not set)' : ''}`,
    () => {
      let deployment: TestDeployment;
      let running: StartedHost;
      const url = (path: string) => `${running.url}${path}`;
      const signedPost = async (body: string, path = '/webhook') => {
        const bytes = new TextEncoder().encode(body);
        return fetch(url(path), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': await signWebhookBody(bytes, deployment.appSecret),
          },
          body: bytes,
        });
      };
      const inboxCount = async (phoneNumberId: string) =>
        Number(
          (
            await deployment.sql('SELECT count(*) AS n FROM prestabot.inbox WHERE phone_number_id = $1', [
              phoneNumberId,
            ])
          )[0]?.n,
        );

      beforeAll(async () => {
        deployment = await prepareDeployment(serverUrl!);
        running = await host.start(deployment.env);
      }, 180_000);

      afterAll(async () => {
        await running?.stop();
        await deployment?.close();
      }, 60_000);

      it('answers the verification handshake with the raw challenge, and 403 to a wrong token', async () => {
        const ok = await fetch(
          url(
            `/webhook?hub.mode=subscribe&hub.verify_token=${deployment.verifyToken}&hub.challenge=1158201444`,
          ),
        );
        expect(ok.status).toBe(200);
        expect(await ok.text()).toBe('1158201444');
        const wrong = await fetch(url('/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1'));
        expect(wrong.status).toBe(403);
        expect(running.output()).not.toContain(deployment.verifyToken);
      });

      it('takes a batch for two tenants and answers each from its own number, with its own token', async () => {
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
              await deployment.sql('SELECT count(*) AS n FROM prestabot.inbox WHERE delivery_key = $1', [
                wamid,
              ])
            )[0]?.n,
          ),
        ).toBe(1);
      });

      it('acknowledges a number nobody has with 200 and stores nothing for it', async () => {
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
      const storedBodies = async (wamids: readonly string[]) =>
        Object.fromEntries(
          (
            await deployment.sql(
              "SELECT delivery_key, item->'content'->>'body' AS body FROM prestabot.inbox WHERE delivery_key = ANY($1)",
              [wamids],
            )
          ).map((row) => [row.delivery_key, row.body]),
        );

      it('takes a signed delivery with lone surrogates in its strings: 200, every message stored', async () => {
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
        expect(await storedBodies([bad, good])).toEqual({ [bad]: 'hola\ufffd', [good]: 'hola' });
      });

      it('takes a signed delivery with a 1 MiB sender id: 200, the rest of it stored', async () => {
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
        expect(await storedBodies([huge, good])).toEqual({ [good]: 'hola' });
        expect(running.output()).toContain('webhook item could not be read');
      });

      it('reports health, and answers 503 while the database is down so Meta retries, losing nothing', async () => {
        const [a] = deployment.tenants;
        expect((await fetch(url('/healthz'))).status).toBe(200);
        const before = repliesTo(deployment.fake, a.phoneNumberId).length;
        await deployment.setDatabaseAvailable(false);
        try {
          const refused = await deployment.fake.emitWebhook([
            {
              kind: 'message',
              phoneNumberId: a.phoneNumberId,
              wamid: 'wamid.during-outage',
              from: { waId: '56911110006' },
              content: text('f', 'hola'),
            },
          ]);
          expect(refused[0]?.attempts.at(-1)?.status).toBe(503);
          expect((await fetch(url('/healthz'))).status).toBe(503);
        } finally {
          await deployment.setDatabaseAvailable(true);
        }
        const retried = await deployment.fake.emitWebhook([
          {
            kind: 'message',
            phoneNumberId: a.phoneNumberId,
            wamid: 'wamid.during-outage',
            from: { waId: '56911110006' },
            content: text('f', 'hola'),
          },
        ]);
        expect(retried[0]?.attempts.at(-1)?.status).toBe(200);
        await waitFor(
          'the reply after the outage',
          () => repliesTo(deployment.fake, a.phoneNumberId).length > before,
        );
      });

      /** What a tenant's number sent the person, oldest first. */
      const sentTo = (tenant: TestTenant, waId: string) =>
        repliesTo(deployment.fake, tenant.phoneNumberId)
          .filter(
            (sent) =>
              sent.recipient !== undefined &&
              'phone' in sent.recipient &&
              sent.recipient.phone === `+${waId}`,
          )
          .map((sent) => sent.message);
      /** A person asks a tenant's number for their profile; the Flow message it sends back. */
      const openProfile = async (tenant: TestTenant, waId: string) => {
        await deployment.fake.emitWebhook([
          {
            kind: 'message',
            phoneNumberId: tenant.phoneNumberId,
            from: { waId },
            content: text(waId, 'perfil'),
          },
        ]);
        const flowMessage = () => sentTo(tenant, waId).find((message) => message.type === 'flow');
        await waitFor(`the profile Flow for ${waId}`, () => flowMessage() !== undefined);
        const message = flowMessage();
        if (message?.type !== 'flow') throw new Error('unreachable: waited for a Flow message');
        return message;
      };
      const flowsClient = (tenant: TestTenant, options: { readonly appSecret?: string } = {}) =>
        new FakeFlowsClient({
          endpointUrl: url(`/flows?number=${tenant.phoneNumberId}`),
          publicKeyPem: deployment.fake.businessPublicKey(tenant.phoneNumberId)!,
          refetchPublicKey: async () => deployment.fake.businessPublicKey(tenant.phoneNumberId)!,
          appSecret: options.appSecret ?? deployment.appSecret,
        });
      const textsTo = (tenant: TestTenant, waId: string) =>
        sentTo(tenant, waId).flatMap((message) => (message.type === 'text' ? [message.body] : []));
      it('completes the profile Flow on both tenants, each with its own Flow id and key, encrypted end to end', async () => {
        for (const [index, tenant] of deployment.tenants.entries()) {
          const waId = `5691111700${index}`;
          const sent = await openProfile(tenant, waId);
          expect(sent.flowId).toBe(tenant.profileFlowId);
          const client = flowsClient(tenant);
          expect((await client.ping()).response).toEqual({ data: { status: 'active' } });
          const opened = await client.init(sent.flowToken);
          expect(opened).toMatchObject({ status: 200, response: { screen: 'PROFILE', data: { email: '' } } });
          const refused = await client.dataExchange(sent.flowToken, 'PROFILE', {
            name: 'Ana',
            email: 'not-an-email',
          });
          expect(refused.response).toMatchObject({ screen: 'PROFILE', data: { show_error: true } });
          const saved = await client.dataExchange(sent.flowToken, 'PROFILE', {
            name: `Ana ${index === 0 ? 'Uno' : 'Dos'}`,
            email: `ana${index}@example.com`,
            bank_name: 'Banco Estado',
            account_type: 'sight',
            account_number: '12345678',
            holder_name: 'Ana Soto',
          });
          expect(saved.response).toMatchObject({ screen: 'SUCCESS' });
          await deployment.fake.emitWebhook([
            {
              kind: 'message',
              phoneNumberId: tenant.phoneNumberId,
              from: { waId },
              content: {
                type: 'flow_reply',
                name: 'flow',
                body: 'Sent',
                responseJson: JSON.stringify({ flow_token: sent.flowToken }),
              },
            },
          ]);
          await waitFor('the confirmation', () =>
            textsTo(tenant, waId).some((body) => body.includes('Guardé tu perfil')),
          );
          expect((await client.init(sent.flowToken)).response).toMatchObject({
            data: { email: `ana${index}@example.com`, account_number: '12345678' },
          });
        }
        // Nothing readable at rest: the account number is sealed.
        const rows = await deployment.sql('SELECT * FROM prestabot.contacts');
        expect(JSON.stringify(rows)).not.toContain('12345678');
      });

      it("answers 427 to a forged token or another tenant's, 421 to a tampered request, 432 to a wrong or missing signature", async () => {
        const [a, b] = deployment.tenants;
        const sent = await openProfile(a, '56911117010');
        expect((await flowsClient(a).init('v1.forged.token')).status).toBe(427);
        // A's token, encrypted to B's key at B's endpoint.
        expect((await flowsClient(b).init(sent.flowToken)).status).toBe(427);
        expect((await flowsClient(a, { appSecret: 'not-the-app-secret' }).ping()).status).toBe(432);

        const publicKey = await importFlowPublicKey(deployment.fake.businessPublicKey(a.phoneNumberId)!);
        const sealed = await encryptFlowRequest(
          { version: '3.0', action: 'ping' },
          publicKey._unsafeUnwrap(),
        );
        const data = atob(sealed.body.encrypted_flow_data);
        const flipped = btoa(`${String.fromCharCode(data.charCodeAt(0) ^ 1)}${data.slice(1)}`);
        const postFlows = async (body: string, path: string, signWith: string | undefined) =>
          fetch(url(path), {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(signWith === undefined
                ? {}
                : { 'x-hub-signature-256': await signWebhookBody(new TextEncoder().encode(body), signWith) }),
            },
            body,
          });
        const tamperedBody = JSON.stringify({ ...sealed.body, encrypted_flow_data: flipped });
        const numberPath = `/flows?number=${a.phoneNumberId}`;
        expect((await postFlows(tamperedBody, numberPath, deployment.appSecret)).status).toBe(421);
        const plainBody = JSON.stringify({ version: '3.0', action: 'ping' });
        expect((await postFlows(plainBody, '/flows', deployment.appSecret)).status).toBe(421);
        // Unsigned: refused before any decryption, whatever the body.
        expect((await postFlows(JSON.stringify(sealed.body), numberPath, undefined)).status).toBe(432);
      });

      it('keeps Flows working through a key rotation: the old key during its grace period, the new one at once', async () => {
        const [a] = deployment.tenants;
        const sent = await openProfile(a, '56911117020');
        const withOldKey = flowsClient(a);
        expect((await withOldKey.init(sent.flowToken)).status).toBe(200);
        await expectOk(deployment.flowKeys.generate(a.phoneNumberId));
        await expectOk(deployment.flowKeys.register(a.phoneNumberId));
        const status = await expectOk(deployment.flowKeys.status(a.phoneNumberId));
        expect(status.registered?.matchesCurrent).toBe(true);
        // The host learns of the new key from the database on the first request it cannot otherwise open,
        // re-reading at most once a second (a real rotation takes longer than that to reach WhatsApp).
        await new Promise((resolve) => setTimeout(resolve, 1100));
        expect((await flowsClient(a).init(sent.flowToken)).status).toBe(200);
        expect((await withOldKey.init(sent.flowToken)).status).toBe(200);
      });
    },
  );
};
