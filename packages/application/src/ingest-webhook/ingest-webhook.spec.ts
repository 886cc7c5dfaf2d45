import { errAsync, okAsync, type PhoneNumberId, type WebhookItem } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { storageError } from '../errors.ts';
import {
  createInMemoryApp,
  deliveryStatus,
  encodeBatch,
  expectErr,
  expectOk,
  inboundText,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from '../testing/index.ts';
import { IngestWebhook, maxWebhookBytes } from './ingest-webhook.ts';

const deploymentSecret = 'deployment-app-secret';
const setup = () =>
  createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: deploymentSecret,
  });

const deliver = (app: ReturnType<typeof setup>, items: readonly WebhookItem[], secret = deploymentSecret) =>
  app.ingestWebhook.execute({ rawBody: encodeBatch(items), signature: testSignature(secret) });

describe('IngestWebhook', () => {
  it('stores every item of a batch in its own tenant, before anything is processed', async () => {
    const app = setup();
    const tenantA = await app.addTenant('1001', 'token-a');
    const tenantB = await app.addTenant('2002', 'token-b');
    const result = await expectOk(
      deliver(app, [
        inboundText('1001', '56911111111', 'hola'),
        inboundText('2002', '56922222222', 'hola'),
        inboundText('1001', '56933333333', 'menu'),
      ]),
    );
    expect(result).toMatchObject({ stored: 3, duplicates: 0, held: [] });
    const stored = app.database.inboxEntries();
    expect(stored.map((row) => [row.tenantId, row.phoneNumberId])).toEqual([
      [tenantA, '1001'],
      [tenantB, '2002'],
      [tenantA, '1001'],
    ]);
    expect(app.gateway.attempts).toEqual([]);
  });

  it('changes nothing when Meta delivers the same wamid again', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    const message = inboundText('1001', '56911111111', 'hola');
    await expectOk(deliver(app, [message]));
    const again = await expectOk(deliver(app, [message]));
    expect(again).toMatchObject({ duplicates: 1, stored: 0 });
    expect(app.database.inboxEntries().length).toBe(1);
  });

  it("records the pricing of every status, once per message, before Meta's 200", async () => {
    const app = setup();
    const tenant = await app.addTenant('1001', 'token-a');
    const pricing = { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' } as const;
    await expectOk(
      deliver(app, [
        { ...deliveryStatus('1001', 'wamid.reminder', 'sent'), pricing },
        { ...deliveryStatus('1001', 'wamid.reminder', 'delivered'), pricing },
        // A failed status carries no pricing: nothing to bill.
        deliveryStatus('1001', 'wamid.failed', 'failed'),
        { ...deliveryStatus('9999', 'wamid.unknown', 'sent'), pricing },
      ]),
    );
    const march = { from: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-04-01T00:00:00Z') };
    expect(await expectOk(app.database.usageLedger.usage(march))).toEqual([
      { tenantId: tenant, phoneNumberId: '1001', category: 'utility', billable: true, messages: 1 },
    ]);
  });

  it('stores nothing for an unknown number, and says how to add it', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    const result = await expectOk(
      deliver(app, [inboundText('9999', '56911111111', 'hola'), inboundText('1001', '56911111111', 'hola')]),
    );
    expect(result.unknownNumbers).toEqual(['9999']);
    expect(app.database.inboxEntries().length).toBe(1);
    const warning = app.logger.at('warn').find((line) => line.fields.phoneNumberId === '9999');
    expect(warning?.message).toContain('prestabot numbers add');
    expect(warning?.message).toContain('--phone-number-id 9999');
    expect(app.metrics.count('webhook_unknown_number_total')).toBe(1);
  });

  it('refuses a missing or wrong signature and stores nothing', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    const body = encodeBatch([inboundText('1001', '56911111111', 'hola')]);
    expect(await expectErr(app.ingestWebhook.execute({ rawBody: body, signature: undefined }))).toEqual({
      type: 'signature_missing',
    });
    expect(
      await expectErr(app.ingestWebhook.execute({ rawBody: body, signature: testSignature('guess') })),
    ).toEqual({ type: 'signature_mismatch' });
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it.each([
    ['missing', undefined, 'signature_missing'],
    ['malformed', 'not-a-signature', 'signature_malformed'],
  ])('refuses a %s signature before reading any secret', async (_case, signature, type) => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    // With the database off, any read of the app secrets would answer storage_error instead.
    app.database.setUnavailable(true);
    const body = encodeBatch([inboundText('1001', '56911111111', 'hola')]);
    expect(await expectErr(app.ingestWebhook.execute({ rawBody: body, signature }))).toEqual({ type });
  });

  it("accepts each app's own signature, and refuses a payload signed by an app that does not own the number", async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a', { appSecret: 'secret-of-app-a' });
    await app.addTenant('2002', 'token-b');
    await expectOk(deliver(app, [inboundText('1001', '56911111111', 'hola')], 'secret-of-app-a'));
    await expectOk(deliver(app, [inboundText('2002', '56911111111', 'hola')], deploymentSecret));
    const foreign = await expectErr(
      deliver(app, [inboundText('1001', '56911111111', 'otra')], deploymentSecret),
    );
    expect(foreign).toEqual({ type: 'signature_app_mismatch', phoneNumberId: '1001' });
    expect(app.database.inboxEntries().length).toBe(2);
  });

  it('refuses what is over 3 MB without reading it', async () => {
    const app = setup();
    const error = await expectErr(
      app.ingestWebhook.execute({ rawBody: new Uint8Array(maxWebhookBytes + 1), signature: undefined }),
    );
    expect(error).toEqual({ type: 'payload_too_large', size: maxWebhookBytes + 1, limit: maxWebhookBytes });
  });

  it('cannot verify anything when no secret is configured', async () => {
    const app = createInMemoryApp({ verifier: new TestSignatureVerifier(), parser: new JsonBatchParser() });
    const error = await expectErr(
      app.ingestWebhook.execute({ rawBody: encodeBatch([]), signature: testSignature('x') }),
    );
    expect(error).toEqual({ type: 'no_webhook_secret' });
  });

  it('reports the database being down, so the host can answer 503 and Meta retries', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    app.database.setUnavailable(true);
    const error = await expectErr(deliver(app, [inboundText('1001', '56911111111', 'hola')]));
    expect(error).toMatchObject({ type: 'storage_error', reason: 'unavailable' });
  });

  it("logs Meta's number-level errors with the tenant, and stores nothing for them", async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const numberError: WebhookItem = {
      kind: 'error',
      phoneNumberId: '1001' as PhoneNumberId,
      wabaId: '102290129340398' as never,
      errors: [{ code: 131031, title: 'Account locked' }],
    };
    await expectOk(deliver(app, [numberError]));
    expect(
      app.logger.at('warn').some((line) => line.fields.tenantId === tenantId && line.fields.code === 131031),
    ).toBe(true);
    expect(app.database.inboxEntries().length).toBe(0);
  });

  it('quarantines an item the database refuses, and stores and acknowledges the rest of the delivery', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    // PostgreSQL refuses a whole statement for one bad row, as it did a lone surrogate in jsonb.
    const refusing = new IngestWebhook({
      ...app,
      secrets: app.webhookSecrets,
      accountEvents: { apply: () => okAsync(undefined) },
      verifier: new TestSignatureVerifier(),
      parser: new JsonBatchParser(),
      intake: {
        store: (entries) =>
          entries.some((entry) => JSON.stringify(entry.item).includes('unstorable'))
            ? errAsync(storageError('constraint', 'invalid input syntax for type json'))
            : app.database.inboxQueue.store({
                entries,
                now: app.clock.now(),
                followUps: { origins: [], statuses: [] },
              }),
      },
    });
    const items = [
      inboundText('1001', '56911111111', 'hola'),
      inboundText('1001', '56922222222', 'unstorable'),
      inboundText('1001', '56933333333', 'menu'),
    ];
    const result = await expectOk(
      refusing.execute({ rawBody: encodeBatch(items), signature: testSignature(deploymentSecret) }),
    );
    expect(result).toMatchObject({ stored: 2, quarantined: 1 });
    expect(app.database.inboxEntries().map((row) => row.orderingKey)).toEqual(['56911111111', '56933333333']);
    const logged = app.logger.at('error').find((line) => line.message.includes('quarantined'));
    expect(logged?.fields).toMatchObject({ phoneNumberId: '1001', deliveryKey: expect.any(String) });
    expect(JSON.stringify(logged)).not.toContain('unstorable');
    expect(app.metrics.count('webhook_items_total', { outcome: 'quarantined' })).toBe(1);
  });

  it('acknowledges, but neither stores nor answers, a replay older than the retention: its key may be pruned', async () => {
    const dayMs = 24 * 60 * 60 * 1000;
    const app = createInMemoryApp({
      verifier: new TestSignatureVerifier(),
      parser: new JsonBatchParser(),
      deploymentAppSecret: deploymentSecret,
      retentionDays: 7,
    });
    await app.addTenant('1001', 'token-a');
    const sentAt = app.clock.now();
    const message = inboundText('1001', '56911111111', 'hola', { sentAt });
    await expectOk(deliver(app, [message]));
    await app.drain();
    const answers = app.gateway.sentTo('56911111111').length;
    expect(answers).toBeGreaterThan(0);

    app.clock.set(new Date(sentAt.getTime() + 8 * dayMs));
    await expectOk(
      app.database.finishedWorkRetention.pruneFinished(new Date(app.clock.now().getTime() - 7 * dayMs), 100),
    );
    expect(app.database.inboxEntries().length).toBe(0);
    const replay = await expectOk(
      deliver(app, [message, deliveryStatus('1001', 'wamid.OUT1', 'failed', { at: sentAt })]),
    );
    await app.drain();

    expect(replay).toMatchObject({ stored: 0, stale: 2 });
    expect(app.database.inboxEntries().length).toBe(0);
    expect(app.gateway.sentTo('56911111111')).toHaveLength(answers);
    expect(app.metrics.count('webhook_items_total', { outcome: 'stale' })).toBe(2);
    expect(app.logger.at('warn').some((line) => line.message.includes('older than the retention'))).toBe(
      true,
    );
  });

  it('still takes an item sent just inside the retention, less its margin', async () => {
    const app = createInMemoryApp({
      verifier: new TestSignatureVerifier(),
      parser: new JsonBatchParser(),
      deploymentAppSecret: deploymentSecret,
      retentionDays: 7,
    });
    await app.addTenant('1001', 'token-a');
    const sentAt = new Date(app.clock.now().getTime() - 6 * 24 * 60 * 60 * 1000);
    const result = await expectOk(deliver(app, [inboundText('1001', '56911111111', 'hola', { sentAt })]));
    expect(result).toMatchObject({ stored: 1, stale: 0 });
  });
});
