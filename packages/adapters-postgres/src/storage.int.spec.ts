import { createAesGcmSecretCipher } from '@prestabot/adapters-webcrypto';
import {
  type ClaimedInboxEntry,
  type ClaimedReminder,
  type ClaimedSend,
  type InboxItem,
  type NewInboxEntry,
  NumberAccessTokens,
  type OutboxOrigin,
  outcomeGraceMs,
  SendReply,
  secretPlaces,
} from '@prestabot/application';
import {
  everyMessageType,
  expectErr,
  expectOk,
  fixturePhone,
  fixturePhoneNumberId,
  fixtureUuid,
  maxInAnySecond,
  RecordingGateway,
  RecordingLogger,
  RecordingMetrics,
  seedContact,
  seedTenant,
  statusInboxEntry,
  storeInInbox,
  textInboxEntry,
  textOutboxEntry,
} from '@prestabot/application/testing';
import {
  type Agreement,
  type AgreementId,
  type AppId,
  addDays,
  deliveryKeyOf,
  type E164,
  type InboundContent,
  type InboundMessage,
  type PhoneNumberId,
  type Tenant,
  type TenantId,
  textMessage,
  timeOrderedUuid,
  timeOrderedUuidRandomBytes,
  type WabaId,
  type Wamid,
} from '@prestabot/domain';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { postgresStorageModule } from './container-module.ts';
import { createPostgresStorage, type PostgresStorage, postgresStorageOn } from './storage.ts';
import { describeOnEachDriver, driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { openTestStorage } from './testing/test-database.ts';
import { postgresTokens } from './tokens.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

const everyInboundContent: readonly InboundContent[] = [
  { type: 'text', body: 'hola ñandú 🦩 "quoted" \\ back' },
  { type: 'button_reply', id: 'loan:confirm:1', title: 'Sí' },
  { type: 'list_reply', id: 'loan:view:1', title: 'Ana', description: 'vence 10/03' },
  { type: 'flow_reply', name: 'flow', responseJson: '{"name":"Ana","flow_token":"t"}', body: 'Sent' },
  { type: 'quick_reply', text: 'Devuelto', payload: 'loan:returned:1' },
  {
    type: 'media',
    mediaType: 'image',
    mediaId: '123',
    mimeType: 'image/jpeg',
    caption: 'foto',
    filename: 'a.jpg',
  },
  { type: 'location', latitude: -33.4489, longitude: -70.6693, name: 'Santiago', address: 'Plaza' },
  {
    type: 'contacts',
    cards: [
      { formattedName: 'Pedro', phones: [{ phone: '+56 9 1234 5678', waId: '56912345678', type: 'CELL' }] },
    ],
  },
  { type: 'reaction', messageId: 'wamid.x' as Wamid, emoji: '👍' },
  { type: 'reaction', messageId: 'wamid.y' as Wamid },
  { type: 'welcome_request' },
  { type: 'system', event: 'user_changed_number', body: 'changed' },
  {
    type: 'unsupported',
    originalType: 'poll',
    errors: [{ code: 131051, title: 'Unsupported', details: 'poll' }],
  },
];

const originsOfEveryKind: readonly OutboxOrigin[] = [
  { kind: 'reply', inboxId: fixtureUuid() },
  { kind: 'reminder', reminderId: fixtureUuid() },
  { kind: 'notification' },
  { kind: 'notification', agreementId: fixtureUuid() },
];

const templateFallback = {
  type: 'template' as const,
  name: 'loan_update',
  language: 'es_CL',
  components: [
    { type: 'body' as const, parameters: [{ type: 'text' as const, text: 'Ana', name: 'lender' }] },
  ],
};

const messageEntry = (
  phoneNumberId: PhoneNumberId,
  content: InboundContent,
  index: number,
): NewInboxEntry => {
  const item: InboundMessage = {
    kind: 'message',
    phoneNumberId,
    displayPhoneNumber: '+56 9 0000 0000',
    wabaId: '1234567890' as WabaId,
    wamid: `wamid.${fixtureUuid()}` as Wamid,
    from: { waId: `5691111${index.toString().padStart(4, '0')}`, userId: `CL.${index}`, profileName: 'Ana' },
    sentAt: at(index),
    replyTo: 'wamid.ours' as Wamid,
    content,
  };
  return {
    id: fixtureUuid(),
    phoneNumberId,
    deliveryKey: deliveryKeyOf(item),
    orderingKey: `CL.${index}`,
    item,
    receivedAt: at(index),
  };
};

const statusEntry = (phoneNumberId: PhoneNumberId): NewInboxEntry => {
  const item: InboxItem = {
    kind: 'status',
    phoneNumberId,
    wabaId: '1234567890' as WabaId,
    wamid: 'wamid.status' as Wamid,
    status: 'failed',
    at: at(5),
    recipient: { waId: '56911112222' },
    errors: [{ code: 131047, title: 'Re-engagement message', message: 'm', details: 'd', subcode: 1 }],
    bizOpaqueCallbackData: 'outbox-1',
    pricing: { billable: false, pricingModel: 'PMP', type: 'free_customer_service', category: 'service' },
  };
  return { id: fixtureUuid(), phoneNumberId, deliveryKey: deliveryKeyOf(item), item, receivedAt: at(5) };
};

/** A loan between two new contacts of the tenant, recorded on its number. */
const seedLoan = async (
  storage: PostgresStorage,
  tenant: Tenant,
  phoneNumberId: PhoneNumberId,
  overrides: Partial<Agreement> = {},
): Promise<Agreement> => {
  const lender = await seedContact(storage, tenant.id, fixturePhone());
  const borrower = await seedContact(storage, tenant.id, fixturePhone());
  const agreement: Agreement = {
    id: fixtureUuid() as AgreementId,
    tenantId: tenant.id,
    phoneNumberId,
    lenderId: lender.id,
    borrowerId: borrower.id,
    subject: { kind: 'object', description: 'taladro' },
    dueDate: { year: 2026, month: 3, day: 15 },
    status: 'active',
    createdAt: t0,
    ...overrides,
  };
  await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.agreements.create(agreement)));
  return agreement;
};

describeOnEachDriver('storage behaviour', (context) => {
  it('gives back every inbound item exactly as stored, dates included', async () => {
    const { storage } = context();
    const { number } = await seedTenant(storage);
    const entries = [
      ...everyInboundContent.map((content, index) => messageEntry(number.phoneNumberId, content, index)),
      statusEntry(number.phoneNumberId),
    ];
    await storeInInbox(storage.inboxQueue, entries);
    const claimed = await expectOk(
      storage.inboxQueue.claim({
        owner: 'w',
        limit: 100,
        leaseMs: 1000,
        now: at(60_000),
        ids: entries.map((entry) => entry.id),
      }),
    );
    const byId = new Map(claimed.map((entry) => [entry.id, entry]));
    for (const entry of entries) {
      const { lease: _lease, attempts: _attempts, tenantId: _tenantId, ...stored } = byId.get(entry.id)!;
      expect(stored).toStrictEqual(entry);
    }
  });

  it('gives back every outbound message type exactly as enqueued, with or without a recipient, origin or fallback', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const contact = await seedContact(storage, tenant.id);
    const entries = everyMessageType.map((message, index) => ({
      ...textOutboxEntry(number.phoneNumberId, { at: t0, contactId: contact.id }),
      message,
      ...(message.type === 'mark_read'
        ? { recipient: undefined }
        : index % 2 === 0
          ? { recipient: { userId: `CL.${index}` } }
          : { recipient: { phone: '+56911112222' as E164 }, replyTo: 'wamid.in' as Wamid }),
      origin: originsOfEveryKind[index % originsOfEveryKind.length]!,
      ...(index % 2 === 0 ? { fallback: templateFallback } : {}),
    }));
    const cleaned = entries.map(({ recipient, ...entry }) =>
      recipient === undefined ? entry : { ...entry, recipient },
    );
    await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(cleaned)));
    for (const entry of cleaned) {
      const stored = await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.get(entry.id)));
      expect(stored).toStrictEqual({ ...entry, tenantId: tenant.id, status: 'pending', attempts: 0 });
    }
  });

  it('gives back a loan exactly as stored: amounts past 32 bits, the due day in any process time zone', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const money = await seedLoan(storage, tenant, number.phoneNumberId, {
      subject: { kind: 'money', amount: { minor: 999_999_999_999, currency: 'CLP' } },
      dueDate: { year: 2026, month: 12, day: 31 },
      confirmedAt: at(1),
      returnClaimedAt: at(2),
    });
    const closed = await seedLoan(storage, tenant, number.phoneNumberId, {
      subject: { kind: 'object', description: 'taladro "Bosch" \\ 🔧' },
      dueDate: { year: 2026, month: 1, day: 1 },
      status: 'returned',
      closedAt: at(3),
    });
    // pg would read a `date` as local midnight: the day before in UTC this far east of Greenwich.
    const zone = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      for (const agreement of [money, closed])
        expect(
          await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.agreements.get(agreement.id))),
        ).toStrictEqual(agreement);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('keeps a sender’s later message waiting while an earlier-arrived one holds a live lease', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const newer = textInboxEntry(number.phoneNumberId, { sentAt: at(10), waId: '56955550000' });
    await storeInInbox(storage.inboxQueue, [newer]);
    const [leased] = await expectOk(
      storage.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 30_000, now: at(20), ids: [newer.id] }),
    );
    expect(leased?.id).toBe(newer.id);
    // A delivery that Meta retried late: older by WhatsApp's clock, stored after the newer one was leased.
    const older = textInboxEntry(number.phoneNumberId, {
      sentAt: at(5),
      receivedAt: at(21),
      waId: '56955550000',
    });
    await storeInInbox(storage.inboxQueue, [older]);
    expect(
      await expectOk(
        storage.inboxQueue.claim({ owner: 'w2', limit: 10, leaseMs: 30_000, now: at(22), ids: [older.id] }),
      ),
    ).toEqual([]);
    await expectOk(
      storage.unitOfWork.run(tenant.id, (r) =>
        r.inbox.complete([{ id: newer.id, lease: leased!.lease }], at(23)),
      ),
    );
    expect(
      (
        await expectOk(
          storage.inboxQueue.claim({ owner: 'w2', limit: 10, leaseMs: 30_000, now: at(24), ids: [older.id] }),
        )
      ).map((entry) => entry.id),
    ).toEqual([older.id]);
  });

  it("undoes only the recording of sends when it fails in a webhook's write: the entries are stored and worked on", async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const entry = textInboxEntry(number.phoneNumberId, { waId: '56900000034' });
    const { stored, processed, recorded } = await expectOk(
      storage.inboxQueue.storeAndProcess(
        { entries: [entry], now: t0, followUps: { origins: [], statuses: [] } },
        async (_stored, section) => ({
          result: (await section(tenant.id, (r) => r.outbox.get(entry.id))).isOk() ? 'worked on' : 'refused',
          answered: [],
        }),
        // An id PostgreSQL cannot read as a UUID fails the recording statement.
        [{ kind: 'requeue', id: 'not a uuid', lease: { owner: 'w', until: at(30_000) } }],
      ),
    );
    expect(recorded).toBeUndefined();
    expect(processed).toBe('worked on');
    expect(stored.map((result) => result.outcome)).toEqual(['stored']);
    const claimed = await expectOk(
      storage.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: at(1000), ids: [entry.id] }),
    );
    expect(claimed.map((row) => row.id)).toEqual([entry.id]);
  });

  it('stores an entry written done without its item, and gives one put back its item again', async () => {
    const { storage, driver } = context();
    const { number } = await seedTenant(storage);
    const [answered, putBack] = ['56900000041', '56900000042'].map((waId) =>
      textInboxEntry(number.phoneNumberId, { waId }),
    );
    await expectOk(
      storage.inboxQueue.storeAndProcess(
        {
          entries: [answered!, putBack!],
          now: t0,
          followUps: { origins: [], statuses: [] },
          lease: { owner: 'h', leaseMs: 30_000 },
          answering: [answered!.id, putBack!.id],
        },
        async () => ({ result: undefined, answered: [answered!.id] }),
      ),
    );
    const rows = await expectOk(
      driver.query(
        'SELECT id, item IS NULL AS without_item FROM prestabot.inbox WHERE id = ANY ($1::uuid[])',
        [[answered!.id, putBack!.id]],
      ),
    );
    expect(new Map(rows.map((row) => [row['id'], row['without_item']]))).toEqual(
      new Map([
        [answered!.id, true],
        [putBack!.id, false],
      ]),
    );
    // No entry waits for work without its item.
    const reopenedBare = await driver.query('UPDATE prestabot.inbox SET processed_at = NULL WHERE id = $1', [
      answered!.id,
    ]);
    expect(reopenedBare._unsafeUnwrapErr()).toMatchObject({
      message: expect.stringContaining('inbox_item_until_processed'),
    });
  });

  it('indexes a finished row whose id is time-ordered under its keys only; one with a random id also by when it finished', async () => {
    const { storage, driver } = context();
    const { tenant, number } = await seedTenant(storage);
    const ids = {
      timeOrdered: timeOrderedUuid(
        t0.getTime(),
        crypto.getRandomValues(new Uint8Array(timeOrderedUuidRandomBytes)),
      ),
      random: fixtureUuid(),
    };
    const entries = Object.values(ids).map((id, index) => ({
      ...textInboxEntry(number.phoneNumberId, { waId: `5690000005${index}` }),
      id,
    }));
    await expectOk(
      storage.inboxQueue.storeAndProcess(
        {
          entries,
          now: t0,
          followUps: { origins: [], statuses: [] },
          lease: { owner: 'h', leaseMs: 30_000 },
          answering: Object.values(ids),
        },
        async () => ({ result: undefined, answered: Object.values(ids) }),
      ),
    );
    const messages = Object.values(ids).map((id) => ({
      ...textOutboxEntry(number.phoneNumberId, { at: t0 }),
      id,
    }));
    await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(messages)));
    const sends = await expectOk(
      storage.outboxQueue.lease({
        ids: Object.values(ids),
        owner: 'w',
        now: t0,
        leaseMs: 30_000,
        horizonMs: 1000,
      }),
    );
    await expectOk(
      storage.outboxQueue.record(
        sends.map((send) => ({
          kind: 'sent',
          id: send.id,
          lease: send.lease,
          wamid: `wamid.${send.id}` as Wamid,
          at: t0,
        })),
      ),
    );
    /** The table's indexes whose predicate the row meets: those its latest version was written to. */
    const indexesHolding = async (table: 'inbox' | 'outbox', id: string) => {
      const indexes = await expectOk(
        driver.query(
          `SELECT c.relname AS name, coalesce(pg_get_expr(i.indpred, i.indrelid), 'true') AS predicate
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = $1::regclass ORDER BY c.relname`,
          [`prestabot.${table}`],
        ),
      );
      const holding: unknown[] = [];
      for (const { name, predicate } of indexes) {
        const rows = await expectOk(
          driver.query(`SELECT 1 FROM prestabot.${table} WHERE id = $1 AND (${String(predicate)})`, [id]),
        );
        if (rows.length === 1) holding.push(name);
      }
      return holding;
    };
    const inboxKeys = ['inbox_delivery_digest', 'inbox_pkey'];
    const outboxKeys = ['outbox_idempotency_digest', 'outbox_pkey'];
    expect(await indexesHolding('inbox', ids.timeOrdered)).toEqual(inboxKeys);
    expect(await indexesHolding('outbox', ids.timeOrdered)).toEqual(outboxKeys);
    expect(await indexesHolding('inbox', ids.random)).toEqual([...inboxKeys, 'inbox_processed_random_ids']);
    expect(await indexesHolding('outbox', ids.random)).toEqual(['outbox_finished_random_ids', ...outboxKeys]);
  });

  it("stores, queues, sends and logs a message without locking its number's or its contact's row", async () => {
    const { storage, driver } = context();
    const { tenant, number } = await seedTenant(storage);
    const phone = fixturePhone();
    const contact = await seedContact(storage, tenant.id, phone);
    /** A lock on a row is written into it (its xmax): a key's check of a new row locked the row named. */
    const lockers = async () =>
      expectOk(
        driver.query(
          `SELECT (SELECT xmax::text FROM prestabot.whatsapp_numbers WHERE phone_number_id = $1) AS number,
                  (SELECT xmax::text FROM prestabot.contacts WHERE id = $2) AS contact`,
          [number.phoneNumberId, contact.id],
        ),
      );
    const messageOfContact = async (sentAt: Date) => {
      await storeInInbox(storage.inboxQueue, [
        textInboxEntry(number.phoneNumberId, { waId: phone.slice(1), sentAt }),
      ]);
      const message = textOutboxEntry(number.phoneNumberId, {
        contactId: contact.id,
        to: phone,
        at: sentAt,
      });
      await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([message])));
      const [send] = await expectOk(
        storage.outboxQueue.lease({
          ids: [message.id],
          owner: 'w',
          now: sentAt,
          leaseMs: 30_000,
          horizonMs: 1000,
        }),
      );
      const wamid = `wamid.${fixtureUuid()}` as Wamid;
      await expectOk(
        storage.outboxQueue.record([{ kind: 'sent', id: send!.id, lease: send!.lease, wamid, at: sentAt }]),
      );
      const logged = await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.messages.outbound(wamid)));
      expect(logged).toMatchObject({ contactId: contact.id });
    };
    // The first send of a number creates its pacing row, whose key names the number: that lock is once.
    await messageOfContact(t0);
    const before = await lockers();
    await messageOfContact(at(60_000));
    expect(await lockers()).toEqual(before);
  });

  it("prices a message the log knows on its own row, and only an unknown one's in message_pricing", async () => {
    const { storage, driver } = context();
    const { tenant, number } = await seedTenant(storage);
    const reply = textOutboxEntry(number.phoneNumberId, { at: t0 });
    await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([reply])));
    const [send] = await expectOk(
      storage.outboxQueue.lease({ ids: [reply.id], owner: 'w', now: t0, leaseMs: 30_000, horizonMs: 1000 }),
    );
    const [known, unknown] = [`wamid.${fixtureUuid()}`, `wamid.${fixtureUuid()}`] as Wamid[];
    await expectOk(
      storage.outboxQueue.record([{ kind: 'sent', id: send!.id, lease: send!.lease, wamid: known!, at: t0 }]),
    );
    const pricing = { billable: true, pricingModel: 'PMP', type: 'regular', category: 'utility' } as const;
    await storeInInbox(
      storage.inboxQueue,
      [known!, unknown!].map((wamid) =>
        statusInboxEntry(number.phoneNumberId, wamid, 'sent', { at: at(1), pricing }),
      ),
    );
    const pricedRows = await expectOk(
      driver.query('SELECT wamid FROM prestabot.message_pricing WHERE wamid = ANY ($1)', [[known, unknown]]),
    );
    expect(pricedRows).toEqual([{ wamid: unknown }]);
    const [row] = await expectOk(
      driver.query(
        'SELECT priced_at, billable, pricing_model, pricing_type, category FROM prestabot.messages WHERE wamid = $1',
        [known],
      ),
    );
    expect(row).toEqual({
      priced_at: at(1),
      billable: true,
      pricing_model: 'PMP',
      pricing_type: 'regular',
      category: 'utility',
    });
  });

  it('puts back only entries its own transaction wrote done: a done entry stays done for any other caller', async () => {
    const { storage, driver } = context();
    const { number } = await seedTenant(storage);
    const entry = textInboxEntry(number.phoneNumberId, { waId: '56900000039' });
    await expectOk(
      storage.inboxQueue.storeAndProcess(
        {
          entries: [entry],
          now: t0,
          followUps: { origins: [], statuses: [] },
          lease: { owner: 'h', leaseMs: 30_000 },
          answering: [entry.id],
        },
        async () => ({ result: undefined, answered: [entry.id] }),
      ),
    );
    const [reopened] = await expectOk(
      driver.query('SELECT prestabot.reopen_inbox_entries($1::jsonb) AS reopened', [
        JSON.stringify([{ id: entry.id, lease_owner: 'h', leased_until: at(30_000) }]),
      ]),
    );
    expect(reopened).toEqual({ reopened: 0 });
    expect(
      await expectOk(
        storage.inboxQueue.claim({ owner: 'w', limit: 10, leaseMs: 1000, now: at(60_000), ids: [entry.id] }),
      ),
    ).toEqual([]);
  });

  it('claims an outbox message again once its lease and the grace after it ran out, and counts the oldest due message', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const entry = textOutboxEntry(number.phoneNumberId, { at: t0 });
    await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue([entry])));
    const claim = (now: Date) =>
      expectOk(
        storage.outboxQueue.claim({ owner: 'w', limit: 500, leaseMs: 5_000, now, horizonMs: 1000 }),
      ).then((sends) => sends.filter((send) => send.id === entry.id));
    const [first] = await claim(at(1000));
    expect(first?.lease.until).toEqual(new Date(first!.sendAt.getTime() + 5_000));
    expect(await claim(at(2000))).toEqual([]);
    const graceEnds = first!.lease.until.getTime() - t0.getTime() + outcomeGraceMs;
    expect(await claim(at(graceEnds - 1))).toEqual([]);
    expect((await claim(at(graceEnds))).map((send) => send.id)).toEqual([entry.id]);
    const depth = await expectOk(storage.outboxQueue.depth(at(10_000)));
    expect(depth.pending).toBeGreaterThanOrEqual(1);
    expect(depth.oldestAt!.getTime()).toBeLessThanOrEqual(t0.getTime());
  });

  it('reports whether every stored token and app secret opens with the configured key', async () => {
    const { driver } = context();
    const cipher = (
      await createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: btoa('k'.repeat(32)) })
    )._unsafeUnwrap();
    const storage = postgresStorageOn(driver, { cipher });
    const [tenantId, phoneNumberId] = [fixtureUuid() as TenantId, fixturePhoneNumberId()];
    const sealed = await expectOk(
      cipher.seal('EAAG-number-token', secretPlaces.accessToken(tenantId, phoneNumberId)),
    );
    const readable = await seedTenant(
      storage,
      { id: tenantId },
      { phoneNumberId, token: { kind: 'sealed', sealed, length: 17 } },
    );
    const foreign = await seedTenant(storage);
    const appId = fixtureUuid() as AppId;
    const appSecret = await expectOk(cipher.seal('app-secret', secretPlaces.appSecret(appId)));
    await expectOk(storage.apps.register({ id: appId, secret: appSecret }));
    const health = await expectOk(storage.inspect());
    if (!health.reachable) throw new Error('unreachable');
    const numberHealth = (id: PhoneNumberId) => health.numbers?.find((number) => number.phoneNumberId === id);
    expect(numberHealth(readable.number.phoneNumberId)).toMatchObject({
      tokenStatus: { kind: 'set', length: 17 },
      tokenReadable: true,
    });
    expect(numberHealth(foreign.number.phoneNumberId)).toMatchObject({ tokenReadable: false });
    expect(health.apps?.find((app) => app.appId === appId)).toEqual({ appId, secretReadable: true });
  });

  it('opens no sealed token copied to another tenant’s number: its sends fail, saying so, with no plaintext', async () => {
    const { driver } = context();
    const cipher = (
      await createAesGcmSecretCipher({ PRESTABOT_ENCRYPTION_KEY: btoa('k'.repeat(32)) })
    )._unsafeUnwrap();
    const storage = postgresStorageOn(driver, { cipher });
    const [victimId, victimNumber] = [fixtureUuid() as TenantId, fixturePhoneNumberId()];
    const token = 'EAAG-victim-token-0123456789';
    const sealed = await expectOk(cipher.seal(token, secretPlaces.accessToken(victimId, victimNumber)));
    await seedTenant(
      storage,
      { id: victimId },
      { phoneNumberId: victimNumber, token: { kind: 'sealed', sealed, length: token.length } },
    );
    const thief = await seedTenant(storage);
    // What someone with write access to the table, but not the key, could do.
    await expectOk(
      driver.query(
        `UPDATE prestabot.whatsapp_numbers t
         SET token_state = v.token_state, token_key_id = v.token_key_id,
             token_ciphertext = v.token_ciphertext, token_length = v.token_length
         FROM prestabot.whatsapp_numbers v
         WHERE v.phone_number_id = $1 AND t.phone_number_id = $2`,
        [victimNumber, thief.number.phoneNumberId],
      ),
    );
    const gateway = new RecordingGateway();
    gateway.allow(thief.number.phoneNumberId, token);
    gateway.allow(victimNumber, token);
    const logger = new RecordingLogger();
    const tokens = new NumberAccessTokens({
      unitOfWork: storage.unitOfWork,
      cipher,
      logger,
      metrics: new RecordingMetrics(),
    });
    const sendReply = new SendReply({ tokens, gateway });
    const send = (tenantId: TenantId, phoneNumberId: PhoneNumberId) =>
      sendReply.execute({
        tenantId,
        phoneNumberId,
        recipient: { phone: fixturePhone() },
        message: textMessage('hola')._unsafeUnwrap(),
      });
    // The victim's own number still sends (and its opened token is cached, which must not leak either).
    await expectOk(send(victimId, victimNumber));
    const refused = await expectErr(send(thief.tenant.id, thief.number.phoneNumberId));
    expect(refused).toMatchObject({ type: 'secret_unreadable', keyId: sealed.keyId });
    expect((refused as { message: string }).message).toContain('does not open here');
    expect(JSON.stringify(refused)).not.toContain(token);
    expect(JSON.stringify(logger.lines)).not.toContain(token);
    expect(gateway.accepted).toHaveLength(1);
  });

  it('lets concurrent rotations of a tenant’s Flows keys take turns: one current key per number, one per tenant', async () => {
    const { storage } = context();
    const { tenant, number } = await seedTenant(storage);
    const keys = Array.from({ length: 8 }, (_, index) => ({
      id: fixtureUuid(),
      ...(index % 2 === 0 ? { phoneNumberId: number.phoneNumberId } : {}),
      fingerprint: index.toString(16).padStart(16, '0'),
      privateKey: { keyId: 'k1', ciphertext: `sealed-${index}` },
      createdAt: at(index),
    }));
    await Promise.all(
      keys.map((key) =>
        expectOk(storage.unitOfWork.run(tenant.id, (r) => r.flowKeys.add(key, key.createdAt))),
      ),
    );
    const stored = await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.flowKeys.list()));
    expect(stored).toHaveLength(keys.length);
    const current = stored.filter((key) => key.retiredAt === undefined);
    expect(current.map((key) => key.phoneNumberId ?? 'tenant-wide').sort()).toEqual(
      [number.phoneNumberId, 'tenant-wide'].sort(),
    );
  });

  it('binds its ports under the application’s tokens for a composition root', () => {
    const { storage } = context();
    const container = new Container();
    container.load(postgresStorageModule(storage));
    expect(container.get(postgresTokens.unitOfWork)).toBe(storage.unitOfWork);
    expect(container.get(postgresTokens.tenantDirectory)).toBe(storage.directory);
    expect(container.get(postgresTokens.inboxQueue)).toBe(storage.inboxQueue);
    expect(container.get(postgresTokens.outboxQueue)).toBe(storage.outboxQueue);
    expect(container.get(postgresTokens.reminderQueue)).toBe(storage.reminderQueue);
    expect(container.get(postgresTokens.appRegistry)).toBe(storage.apps);
    expect(container.get(postgresTokens.flowKeyDirectory)).toBe(storage.flowKeyDirectory);
    expect(container.get(postgresTokens.finishedWorkRetention)).toBe(storage.finishedWorkRetention);
    expect(container.get(postgresTokens.usageLedger)).toBe(storage.usageLedger);
    expect(container.get(postgresTokens.storage)).toBe(storage);
    expect(container.isBound(postgresTokens.secretCipher)).toBe(false);
  });
});

const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;

describe.skipIf(serverUrl === undefined)(
  `several worker processes claiming at once on PostgreSQL${serverUrl === undefined ? ` (${postgresSkipReason})` : ''}`,
  () => {
    it('never hand one inbox entry or outbox message to two of them, nor let a number exceed its rate', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 4 });
      const workers = [
        opened.storage,
        ...(await Promise.all(
          [1, 2, 3].map(() =>
            expectOk(createPostgresStorage({ databaseUrl: opened.databaseUrl!, poolSize: 2 })),
          ),
        )),
      ];
      try {
        const { storage } = opened;
        const numbers = await Promise.all(
          [5, 20, 50].map((ratePerSecond) => seedTenant(storage, {}, { ratePerSecond })),
        );
        for (const { tenant, number } of numbers) {
          const inbox = Array.from({ length: 40 }, (_, index) =>
            textInboxEntry(number.phoneNumberId, { sentAt: at(index), waId: `569${index % 10}0000000` }),
          );
          await storeInInbox(storage.inboxQueue, inbox);
          const outbox = Array.from({ length: 60 }, () => textOutboxEntry(number.phoneNumberId, { at: t0 }));
          await expectOk(storage.unitOfWork.run(tenant.id, (r) => r.outbox.enqueue(outbox)));
        }
        const inboxClaims: ClaimedInboxEntry[][] = [];
        const sends: ClaimedSend[][] = [];
        for (let step = 0; step < 12; step += 1) {
          const now = at(step * 250);
          const rounds = await Promise.all(
            workers.map((worker, index) =>
              Promise.all([
                expectOk(worker.inboxQueue.claim({ owner: `w${index}`, limit: 7, leaseMs: 600_000, now })),
                expectOk(
                  worker.outboxQueue.claim({
                    owner: `w${index}`,
                    limit: 25,
                    leaseMs: 600_000,
                    now,
                    horizonMs: 1000,
                  }),
                ),
              ]),
            ),
          );
          for (const [claimed, sent] of rounds) {
            inboxClaims.push([...claimed]);
            sends.push([...sent]);
          }
        }
        const claimedIds = inboxClaims.flat().map((entry) => entry.id);
        expect(new Set(claimedIds).size).toBe(claimedIds.length);
        const sentIds = sends.flat().map((send) => send.id);
        expect(new Set(sentIds).size).toBe(sentIds.length);
        for (const { number } of numbers) {
          const slots = sends
            .flat()
            .filter((send) => send.phoneNumberId === number.phoneNumberId)
            .map((send) => send.sendAt);
          expect(slots.length).toBeGreaterThan(0);
          expect(maxInAnySecond(slots), `rate ${number.ratePerSecond}`).toBeLessThanOrEqual(
            number.ratePerSecond,
          );
        }
      } finally {
        await Promise.all(workers.slice(1).map((worker) => worker.close()));
        await opened.release();
      }
    });

    it('never hand one due reminder to two of them, and leave none unclaimed', async () => {
      const opened = await openTestStorage(serverUrl, { poolSize: 3 });
      const second = await expectOk(createPostgresStorage({ databaseUrl: opened.databaseUrl!, poolSize: 3 }));
      const workers = [opened.storage, second];
      try {
        const { storage } = opened;
        const due: string[] = [];
        for (const { tenant, number } of await Promise.all([1, 2, 3].map(() => seedTenant(storage)))) {
          const agreement = await seedLoan(storage, tenant, number.phoneNumberId);
          // All due at the same moment: every claim contends for the same rows.
          const plan = Array.from({ length: 40 }, (_, day) => ({
            id: fixtureUuid(),
            agreementId: agreement.id,
            kind: 'due_day' as const,
            localDate: addDays(agreement.dueDate, day),
            scheduledAt: t0,
            recipientId: agreement.borrowerId,
          }));
          await expectOk(
            storage.unitOfWork.run(tenant.id, (r) => r.reminders.replacePlan(agreement.id, plan)),
          );
          due.push(...plan.map((reminder) => reminder.id));
        }
        const claims: ClaimedReminder[][] = [];
        for (let round = 0; round < 50; round += 1) {
          // Each worker claims three times at once, on connections of its own pool.
          const claimed = await Promise.all(
            workers.flatMap((worker, index) =>
              [1, 2, 3].map(() =>
                expectOk(
                  worker.reminderQueue.claimDue({
                    owner: `w${index}`,
                    now: at(1000),
                    limit: 7,
                    leaseMs: 600_000,
                  }),
                ),
              ),
            ),
          );
          claims.push(...claimed.map((batch) => [...batch]));
          if (claimed.every((batch) => batch.length === 0)) break;
        }
        const claimedIds = claims.flat().map((reminder) => reminder.id);
        expect(new Set(claimedIds).size).toBe(claimedIds.length);
        expect([...claimedIds].sort()).toEqual([...due].sort());
        // Both workers got some: the claims really ran side by side.
        expect(new Set(claims.flat().map((reminder) => reminder.lease.owner))).toEqual(new Set(['w0', 'w1']));
      } finally {
        await second.close();
        await opened.release();
      }
    });
  },
);
