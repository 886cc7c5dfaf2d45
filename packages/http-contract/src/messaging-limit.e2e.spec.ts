import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GraphClient,
  HmacSignatureVerifier,
  parseGraphApiConfig,
  UndiciGraphGateway,
  ZodWebhookParser,
} from '@prestabot/adapters-meta';
import type { RegisteredTemplate, StorageError } from '@prestabot/application';
import { createInMemoryApp, expectOk, ManualClock } from '@prestabot/application/testing';
import {
  type AgreementId,
  type ContactId,
  type E164,
  okAsync,
  type PhoneNumberId,
  type ReminderKind,
  recipientKeyOf,
  type TenantId,
} from '@prestabot/domain';
import { startFakeGraph } from '@prestabot/fake-graph';
import { afterEach, describe, expect, it } from 'vitest';

const secret = 'limit-app-secret';
const number = {
  phoneNumberId: '106540352242922',
  accessToken: 'EAAG-token-of-the-number',
  wabaId: '102290129340398',
};
const hourMs = 60 * 60 * 1000;

const template = (purpose: RegisteredTemplate['purpose']): RegisteredTemplate => ({
  purpose,
  name: `prestabot_${purpose}`,
  language: 'es_CL',
  parameters: [{ variable: 'message' }],
  quickReplies: [],
});

/** The bot on in-memory storage, sending through the real Graph gateway to the fake, on one clock. */
const start = async (clock: ManualClock) => {
  let app: ReturnType<typeof createInMemoryApp> | undefined;
  // Meta's webhooks reach the bot as they would in production: signed bodies, the real parser.
  const webhooks: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const signature = request.headers['x-hub-signature-256'];
      void app!.ingestWebhook
        .execute({
          rawBody: Buffer.concat(chunks),
          signature: typeof signature === 'string' ? signature : '',
        })
        .match(
          () => response.writeHead(200).end(),
          () => response.writeHead(500).end(),
        );
    });
  });
  await new Promise<void>((resolve) => webhooks.listen(0, '127.0.0.1', resolve));
  const fake = await startFakeGraph({
    numbers: [number],
    clock: () => clock.now(),
    pairLimit: false,
    enforceThroughput: false,
    webhook: { url: `http://127.0.0.1:${(webhooks.address() as AddressInfo).port}/`, appSecret: secret },
  });
  const client = new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap(), {
    requestTimeoutMs: 5000,
    clock,
  });
  app = createInMemoryApp({
    verifier: new HmacSignatureVerifier(),
    parser: new ZodWebhookParser(),
    deploymentAppSecret: secret,
    clock,
    gatewayOf: () => new UndiciGraphGateway(client),
  });
  const tenantId = await app.addTenant(number.phoneNumberId, number.accessToken);
  await expectOk(
    app.database.unitOfWork.run(tenantId, (r) =>
      r.templates
        .upsert(template('loan_reminder'))
        .andThen(() => r.templates.upsert(template('loan_overdue_notice'))),
    ),
  );
  const close = async () => {
    await client.close();
    await fake.close();
    await new Promise((resolve) => webhooks.close(resolve));
  };
  return { app, fake, tenantId, close };
};

/** Active loans, each with one reminder of `kind` due now to someone outside their 24-hour window. */
const seedDueReminders = async (
  app: ReturnType<typeof createInMemoryApp>,
  tenantId: TenantId,
  kinds: readonly ReminderKind[],
) => {
  const kindOf = new Map<string, ReminderKind>();
  await expectOk(
    app.database.unitOfWork.run(tenantId, (r) => {
      let work = okAsync<void, StorageError>(undefined);
      kinds.forEach((kind, index) => {
        const lenderPhone = `+5692${String(index).padStart(7, '0')}` as E164;
        const borrowerPhone = `+5691${String(index).padStart(7, '0')}` as E164;
        const agreementId = app.ids.uuid() as AgreementId;
        work = work
          .andThen(() =>
            r.contacts.upsert({ phone: lenderPhone, name: `L${index}` }, app.ids.uuid() as ContactId),
          )
          .andThen(({ contact: lender }) =>
            r.contacts
              .upsert({ phone: borrowerPhone, name: `B${index}` }, app.ids.uuid() as ContactId)
              .andThen(({ contact: borrower }) => {
                const toLender = kind === 'lender_overdue_notice';
                kindOf.set(recipientKeyOf({ phone: toLender ? lenderPhone : borrowerPhone }), kind);
                return r.agreements
                  .create({
                    id: agreementId,
                    tenantId,
                    phoneNumberId: number.phoneNumberId as PhoneNumberId,
                    lenderId: lender.id,
                    borrowerId: borrower.id,
                    subject: { kind: 'money', amount: { minor: 5000, currency: 'CLP' } },
                    dueDate: { year: 2026, month: 3, day: 15 },
                    status: 'active',
                    createdAt: app.clock.now(),
                  })
                  .andThen(() =>
                    r.reminders.replacePlan(agreementId, [
                      {
                        id: app.ids.uuid(),
                        agreementId,
                        kind,
                        localDate: { year: 2026, month: 3, day: 15 },
                        scheduledAt: app.clock.now(),
                        recipientId: toLender ? lender.id : borrower.id,
                      },
                    ]),
                  );
              }),
          )
          .map(() => undefined);
      });
      return work;
    }),
  );
  return kindOf;
};

describe("the messaging limit, end to end: the bot against a fake Graph API that enforces Meta's", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('sends 1,000 due reminders on a portfolio allowed 250 new people a day: 250 a day, by priority, none refused, none twice', async () => {
    const clock = new ManualClock(new Date('2026-03-15T12:00:00Z'));
    const started = await start(clock);
    close = started.close;
    const { app, fake, tenantId } = started;
    // What `numbers sync` reads from Meta (the fake's default: TIER_250).
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.numbers.recordAccountEvent(number.phoneNumberId as PhoneNumberId, { messagingLimit: 250 }),
      ),
    );
    const kinds: ReminderKind[] = [
      ...Array<ReminderKind>(300).fill('day_before'),
      ...Array<ReminderKind>(300).fill('due_day'),
      ...Array<ReminderKind>(200).fill('overdue_1'),
      ...Array<ReminderKind>(200).fill('lender_overdue_notice'),
    ];
    const kindOf = await seedDueReminders(app, tenantId, kinds);

    const sentPerDay: Record<string, number>[] = [];
    let seen = 0;
    for (let day = 0; day < 5; day += 1) {
      await app.drain();
      const accepted = fake.accepted(number.phoneNumberId);
      const today: Record<string, number> = {};
      for (const message of accepted.slice(seen)) {
        const kind = kindOf.get(recipientKeyOf(message.recipient!))!;
        const group = kind === 'lender_overdue_notice' || kind === 'overdue_1' ? 'overdue' : kind;
        today[group] = (today[group] ?? 0) + 1;
      }
      seen = accepted.length;
      sentPerDay.push(today);
      // An hour short of a day nothing more goes; a day after the last sends, the next 250 do.
      clock.advance(23 * hourMs);
      await app.drain();
      expect(fake.accepted(number.phoneNumberId)).toHaveLength(seen);
      clock.advance(hourMs + 60_000);
    }
    expect(sentPerDay).toEqual([
      { due_day: 250 },
      { due_day: 50, overdue: 200 },
      { overdue: 200, day_before: 50 },
      { day_before: 250 },
      {},
    ]);
    const recipients = fake
      .accepted(number.phoneNumberId)
      .map((message) => recipientKeyOf(message.recipient!));
    expect(new Set(recipients).size).toBe(1000);
    expect(fake.stats(number.phoneNumberId).errors).toEqual({});
    expect(app.metrics.count('messaging_limit_released_total')).toBe(750);
  });

  it("slows a number's business-initiated sends within seconds of Meta's quality downgrade webhook", async () => {
    const clock = new ManualClock(new Date('2026-03-15T12:00:00Z'));
    const started = await start(clock);
    close = started.close;
    const { app, fake, tenantId } = started;
    await seedDueReminders(app, tenantId, Array<ReminderKind>(40).fill('due_day'));
    // The reminders are queued; how many templates one claim may place within a second shows the pace.
    const claimWithinASecond = async () => {
      const claimed = await expectOk(
        app.database.outboxQueue.claim({
          owner: 'probe',
          limit: 100,
          leaseMs: 30_000,
          now: clock.now(),
          horizonMs: 1000,
        }),
      );
      for (const send of claimed)
        await expectOk(
          app.database.outboxQueue.record([{ kind: 'requeue', id: send.id, lease: send.lease }]),
        );
      return claimed.length;
    };
    for (;;) {
      const reminders = await expectOk(
        app.database.reminderQueue.claimDue({ owner: 'w', limit: 100, leaseMs: 30_000, now: clock.now() }),
      );
      if (reminders.length === 0) break;
      for (const reminder of reminders) await expectOk(app.sendDueReminder.execute(reminder));
    }
    expect(await claimWithinASecond()).toBeGreaterThan(20);

    clock.advance(2000);
    const delivery = await fake.emitAccountWebhook(number.phoneNumberId, 'phone_number_quality_update', {
      event: 'DOWNGRADE',
      current_limit: 'TIER_250',
    });
    expect(delivery.outcome).toBe('delivered');
    clock.advance(2000);
    expect(await claimWithinASecond()).toBe(1);
    clock.advance(500);
    expect(await claimWithinASecond()).toBe(0);
  });
});
