import { defined, errAsync, okAsync, type PhoneNumberId, type Wamid } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { storageError } from '../errors.ts';
import type { InboundResponder } from '../handle-inbound/inbound-responder.port.ts';
import {
  createInMemoryApp,
  deliveryStatus,
  encodeBatch,
  expectOk,
  inboundMessage,
  inboundText,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
  textInboxEntry,
} from '../testing/index.ts';
import { english } from '../texts/en.ts';
import { spanish } from '../texts/es.ts';

const secret = 'app-secret';
const setup = (responders?: InboundResponder[]) =>
  createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
    ...defined({ responders }),
  });
type App = ReturnType<typeof setup>;
const deliver = (app: App, ...items: Parameters<typeof encodeBatch>[0]) =>
  expectOk(app.ingestWebhook.execute({ rawBody: encodeBatch(items), signature: testSignature(secret) }));
const sentTo = (app: App, waId: string) => app.gateway.sentTo(waId);
/** One tenant's number with two people's greetings stored, for tests that process them by hand. */
const twoGreetingsStored = async () => {
  const app = setup();
  await app.addTenant('1001', 'token-a');
  await deliver(app, inboundText('1001', '56911111111', 'hola'), inboundText('1001', '56922222222', 'hola'));
  return app;
};
/** What ProcessInbox is told of the sending process in these tests (`SendSlotTerms`). */
const slotTerms = { owner: 'sender', leaseMs: 30_000, horizonMs: 1000, leadMs: 30 };

describe('processing inbound messages', () => {
  it("answers messages in the transaction that stored them, one section per tenant, leaving a failing tenant's for later", async () => {
    const failing: InboundResponder = {
      respond: (context) =>
        context.message.phoneNumberId === '2002'
          ? errAsync(storageError('retryable', 'deadlock'))
          : okAsync(undefined),
    };
    const app = setup([failing]);
    const a = await app.addTenant('1001', 'token-a');
    await app.addTenant('2002', 'token-b');
    const entries = [
      textInboxEntry('1001' as PhoneNumberId, { waId: '56911111111' }),
      textInboxEntry('2002' as PhoneNumberId, { waId: '56922222222' }),
    ];
    const routes = await expectOk(app.processInbox.routesOf(entries));
    const { processed } = await expectOk(
      app.database.inboxQueue.storeAndProcess(
        {
          entries,
          now: app.clock.now(),
          followUps: { origins: [], statuses: [] },
          lease: { owner: 'host', leaseMs: 30_000 },
          answering: entries.map((entry) => entry.id),
        },
        async (stored, section) => {
          const result = await app.processInbox.processInSections(
            stored.flatMap((result) =>
              result.outcome === 'stored' && 'lease' in result.entry ? [result.entry] : [],
            ),
            section,
            routes,
          );
          return { result, answered: result.outcomes.map(({ entry }) => entry.id) };
        },
      ),
    );
    expect(processed.outcomes.map((outcome) => [outcome.entry.phoneNumberId, outcome.type])).toEqual([
      ['1001', 'processed'],
    ]);
    expect(processed.left.map((entry) => entry.phoneNumberId)).toEqual(['2002']);
    // 1001's message is answered and logged; nothing of 2002's section remains, its entry pending again
    // under the lease it was stored with.
    expect(app.database.inboxEntry(entries[0]!.id)?.processedAt).toBeDefined();
    expect(app.database.inboxEntry(entries[1]!.id)).toMatchObject({ lease: { owner: 'host' } });
    expect(app.database.inboxEntry(entries[1]!.id)?.processedAt).toBeUndefined();
    expect(app.database.outboxMessages(a)).toHaveLength(1);
    expect(app.database.outboxMessages()).toHaveLength(1);
  });

  it("answers a greeting with the main menu, from the number written to, with that number's token", async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await app.addTenant('2002', 'token-b');
    await deliver(
      app,
      inboundText('1001', '56911111111', 'Hola!', { profileName: 'Ana' }),
      inboundText('2002', '56922222222', 'menú'),
    );
    await app.drain();
    const [toAna] = sentTo(app, '56911111111');
    expect(toAna).toMatchObject({
      phoneNumberId: '1001',
      accessToken: 'token-a',
      message: { type: 'buttons' },
    });
    expect(toAna?.message.type === 'buttons' && toAna.message.body).toBe(spanish.mainMenu.body('Ana'));
    expect(sentTo(app, '56922222222')).toMatchObject([
      { phoneNumberId: '2002', accessToken: 'token-b', message: { type: 'buttons' } },
    ]);
  });

  it('answers any first message with the menu, and later unknown text with help', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(app, inboundText('1001', '56911111111', 'quiero prestar algo'));
    await app.drain();
    await deliver(app, inboundText('1001', '56911111111', 'no sé qué hacer'));
    await app.drain();
    const replies = sentTo(app, '56911111111').map((send) => send.message);
    expect(replies.map((message) => message.type)).toEqual(['buttons', 'text']);
    expect(replies[1]).toMatchObject({ body: spanish.help });
  });

  it("politely says it cannot read a type it does not know, and doesn't answer reactions", async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(app, inboundText('1001', '56911111111', 'hola'));
    await app.drain();
    await deliver(
      app,
      inboundMessage('1001', '56911111111', {
        type: 'unsupported',
        originalType: 'poll',
        errors: [{ code: 131051 }],
      }),
      inboundMessage('1001', '56911111111', { type: 'reaction', messageId: 'wamid.x' as Wamid, emoji: '👍' }),
    );
    await app.drain();
    const replies = sentTo(app, '56911111111').map((send) => send.message);
    expect(replies).toHaveLength(2);
    expect(replies[1]).toMatchObject({
      type: 'text',
      body: spanish.cannotReadYet,
    });
  });

  it('answers in the tenant language', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a', { locale: 'en' });
    await deliver(app, inboundText('1001', '56911111111', 'hello'));
    await app.drain();
    const [menu] = sentTo(app, '56911111111');
    expect(menu?.message).toMatchObject({
      type: 'buttons',
      buttons: [
        { title: english.mainMenu.newLoan },
        { title: english.mainMenu.myLoans },
        { title: english.mainMenu.myProfile },
      ],
    });
  });

  it('answers a message once, even when the worker loses its lease mid-way', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(app, inboundText('1001', '56911111111', 'hola'));
    const [slow] = await expectOk(
      app.database.inboxQueue.claim({ owner: 'slow', limit: 1, leaseMs: 1000, now: app.clock.now() }),
    );
    app.clock.advance(5000);
    const [fast] = await expectOk(
      app.database.inboxQueue.claim({ owner: 'fast', limit: 1, leaseMs: 30_000, now: app.clock.now() }),
    );
    expect(await app.processInbox.execute([fast!])).toMatchObject([{ type: 'processed' }]);
    expect(await app.processInbox.execute([slow!])).toMatchObject([{ type: 'lease_lost' }]);
    expect(app.database.outboxMessages().length).toBe(1);
  });

  it('gives the replies their send slots in the same unit of work when told on what terms, and undoes them with it', async () => {
    const app = await twoGreetingsStored();
    const claim = (owner: string, leaseMs: number) =>
      expectOk(app.database.inboxQueue.claim({ owner, limit: 2, leaseMs, now: app.clock.now() }));
    const slow = await claim('slow', 1000);
    app.clock.advance(5000);
    const fast = await claim('fast', 30_000);
    // Its lease lost: the replies and their slots are rolled back together.
    expect(await app.processInbox.execute(slow, slotTerms)).toMatchObject([
      { type: 'lease_lost' },
      { type: 'lease_lost' },
    ]);
    const outcomes = await app.processInbox.execute(fast, slotTerms);
    const leased = outcomes.flatMap((outcome) => (outcome.type === 'processed' ? outcome.leased : []));
    const enqueued = outcomes.flatMap((outcome) => (outcome.type === 'processed' ? outcome.enqueued : []));
    expect(enqueued).toHaveLength(2);
    expect(app.database.outboxMessages()).toHaveLength(2);
    expect(leased.map((send) => send.id).sort()).toEqual([...enqueued].sort());
    for (const send of leased) expect(send.lease.owner).toBe('sender');
    // The first slot is exactly the terms' lead after the lease statement.
    expect(Math.min(...leased.map((send) => send.sendAt.getTime()))).toBe(
      app.clock.now().getTime() + slotTerms.leadMs,
    );
    // Without terms, replies wait for the sender to take them.
    await deliver(app, inboundText('1001', '56933333333', 'hola'));
    const [third] = await app.processInbox.execute(await claim('fast', 30_000));
    expect(third).toMatchObject({ type: 'processed', leased: [] });
    expect(third?.type === 'processed' && third.enqueued).toHaveLength(1);
  });

  it('processes the batch again without send slots when the lease that gives them fails, in one more unit of work', async () => {
    const app = await twoGreetingsStored();
    const unitOfWork = app.database.unitOfWork;
    const run = unitOfWork.run.bind(unitOfWork);
    let units = 0;
    unitOfWork.run = ((tenantId, work) => {
      units += 1;
      return run(tenantId, (repositories) =>
        work({
          ...repositories,
          outbox: {
            ...repositories.outbox,
            lease: () => errAsync(storageError('retryable', 'lease refused on purpose')),
          },
        }),
      );
    }) as typeof unitOfWork.run;
    const entries = await expectOk(
      app.database.inboxQueue.claim({ owner: 'worker', limit: 2, leaseMs: 30_000, now: app.clock.now() }),
    );
    const outcomes = await app.processInbox.execute(entries, slotTerms);
    expect(outcomes).toMatchObject([
      { type: 'processed', leased: [] },
      { type: 'processed', leased: [] },
    ]);
    expect(units).toBe(2);
    const queued = app.database.outboxMessages();
    expect(queued).toHaveLength(2);
    expect(queued.every((message) => message.status === 'pending' && message.lease === undefined)).toBe(true);
    expect(app.logger.at('warn').some((line) => line.message.includes('lease refused on purpose'))).toBe(
      true,
    );
  });

  it('keeps delivery statuses moving forward only, whatever order they arrive in', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    await deliver(app, inboundText('1001', '56911111111', 'hola'));
    await app.drain();
    const wamid = app.gateway.accepted[0]!.wamid!;
    await deliver(
      app,
      deliveryStatus('1001', wamid, 'read'),
      deliveryStatus('1001', wamid, 'delivered'),
      deliveryStatus('1001', wamid, 'sent'),
    );
    await app.drain();
    const outbound = () => expectOk(app.database.unitOfWork.run(tenantId, (r) => r.messages.outbound(wamid)));
    expect(await outbound()).toMatchObject({ current: 'read' });
    await deliver(
      app,
      deliveryStatus('1001', wamid, 'failed', { errors: [{ code: 131047, title: 'Re-engagement message' }] }),
    );
    await app.drain();
    expect(await outbound()).toMatchObject({ current: 'failed', error: { code: 131047 } });
    expect(app.metrics.count('delivery_statuses_total', { status: 'failed', code: '131047' })).toBe(1);
  });

  it('waits for the send to be recorded when a status arrives first, then gives up with a log', async () => {
    const app = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(app, deliveryStatus('1001', 'wamid.not-yet', 'delivered'));
    const [entry] = await expectOk(
      app.database.inboxQueue.claim({ owner: 'w', limit: 1, leaseMs: 30_000, now: app.clock.now() }),
    );
    expect(await app.processInbox.execute([entry!])).toMatchObject([{ type: 'retry_later' }]);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      app.clock.advance(120_000);
      await app.drain();
    }
    expect(app.database.inboxEntries()[0]?.processedAt).toBeDefined();
    expect(app.logger.at('warn').some((line) => line.message.includes('never sent'))).toBe(true);
  });

  it('answers every tenant of a batch in its own tenant, and one bad entry holds back no other', async () => {
    const failing: InboundResponder = {
      respond: (context) =>
        context.message.content.type === 'text' && context.message.content.body === 'boom'
          ? (() => {
              throw new Error('a bug in a responder');
            })()
          : okAsync(undefined),
    };
    const app = setup([failing]);
    await app.addTenant('1001', 'token-a');
    await app.addTenant('2002', 'token-b');
    await deliver(
      app,
      inboundText('1001', '56911111111', 'hola'),
      inboundText('1001', '56933333333', 'boom'),
      inboundText('2002', '56922222222', 'hola'),
    );
    const held = await expectOk(
      app.database.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 30_000, now: app.clock.now() }),
    );
    const outcomes = await app.processInbox.execute(held);
    const byBody = (body: string) =>
      outcomes.find(
        (outcome) =>
          outcome.entry.item.kind === 'message' &&
          'body' in outcome.entry.item.content &&
          outcome.entry.item.content.body === body &&
          outcome.entry.item.from.waId !== '56922222222',
      );
    expect(byBody('boom')).toMatchObject({ type: 'failed', reason: 'a bug in a responder' });
    expect(outcomes.filter((outcome) => outcome.type === 'processed')).toHaveLength(2);
    await app.drain();
    expect(sentTo(app, '56911111111')).toMatchObject([{ phoneNumberId: '1001', accessToken: 'token-a' }]);
    expect(sentTo(app, '56922222222')).toMatchObject([{ phoneNumberId: '2002', accessToken: 'token-b' }]);
    expect(sentTo(app, '56933333333')).toEqual([]);
  });
});
