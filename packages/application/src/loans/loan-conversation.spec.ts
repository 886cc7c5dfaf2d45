import {
  type OutboundMessage,
  type PhoneNumberId,
  spreadWithinHourMs,
  type TenantId,
  withoutLoneSurrogates,
} from '@prestabot/domain';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createInMemoryApp,
  deliveryStatus,
  encodeBatch,
  expectOk,
  type InMemoryApp,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from '../testing/index.ts';
import { english } from '../texts/en.ts';
import { spanish } from '../texts/es.ts';
import type { RegisteredTemplate } from './loan-stores.port.ts';

const secret = 'loans-secret';
const number = '1065403522429';
/** The number people see; a link to it opens a chat with the bot. */
const displayPhone = '+56229405000';
const chatLink = `https://wa.me/56229405000?text=${encodeURIComponent(spanish.requestHeld.opener)}`;
const lender = '56911111111';
const borrower = '56922222222';
/** The loan `recordLoan` records, as every text about it reads it: the lender has no name, so their number. */
const anasLoan = { lender: `+${lender}`, borrower: 'Ana', loan: '$5.000', dueDate: '15/03/2026' };

const setup = () =>
  createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
  });

/** The person `from` sends `content` to the number; the worker then does everything due. */
const say = (app: InMemoryApp, from: string, content: Parameters<InMemoryApp['receive']>[2]) =>
  app.receive(number, from, content);
const tap = (app: InMemoryApp, from: string, id: string) =>
  say(app, from, { type: 'button_reply', id, title: 'x' });

const sentTo = (app: InMemoryApp, waId: string): OutboundMessage[] =>
  app.gateway.sentTo(waId).map((send) => send.message);
const lastTo = (app: InMemoryApp, waId: string) => sentTo(app, waId).at(-1);
const bodyOf = (message: OutboundMessage | undefined): string =>
  message === undefined
    ? ''
    : 'body' in message
      ? message.body
      : message.type === 'template'
        ? `template:${message.name}`
        : '';
const buttonIds = (message: OutboundMessage | undefined): string[] => {
  if (message?.type === 'buttons') return message.buttons.map((button) => button.id);
  if (message?.type === 'list')
    return message.sections.flatMap((section) => section.rows.map((row) => row.id));
  if (message?.type === 'template')
    return message.components.flatMap((component) =>
      component.type === 'quick_reply_button' ? [component.payload] : [],
    );
  return [];
};
const button = (message: OutboundMessage | undefined, suffix: string) => {
  const id = buttonIds(message).find((candidate) => candidate.endsWith(suffix));
  if (id === undefined) throw new Error(`no button ending in ${suffix} in ${JSON.stringify(message)}`);
  return id;
};

const template = (
  purpose: RegisteredTemplate['purpose'],
  quickReplies: RegisteredTemplate['quickReplies'] = [],
): RegisteredTemplate => ({
  purpose,
  name: `prestabot_${purpose}`,
  language: 'es_CL',
  parameters: [{ variable: 'message' }],
  quickReplies,
});

const agreements = (app: InMemoryApp) => app.database.agreements();
const reminders = (app: InMemoryApp) => app.database.reminders();

/** `hour` plus the place in that hour the one loan's reminders were spread to. */
const reminderTime = (app: InMemoryApp, hour: string) =>
  new Date(Date.parse(hour) + spreadWithinHourMs(reminders(app)[0]!.agreementId));

/**
 * Records "5.000 to Ana, due 15/03" through the chat, typed where `typed`, tapped otherwise; how many
 * messages the lender had before confirming it.
 */
const recordLoan = async (app: InMemoryApp, options: { readonly typed: boolean; readonly to?: string }) => {
  const to = options.to ?? borrower;
  if (options.typed) await say(app, lender, 'nuevo préstamo');
  else await tap(app, lender, 'menu:new_loan');
  expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askBorrower);
  await say(app, lender, `Ana +56 9 ${to.slice(3, 7)} ${to.slice(7)}`);
  if (options.typed) await say(app, lender, 'dinero');
  else await tap(app, lender, button(lastTo(app, lender), ':kind:money'));
  expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askAmount('$5.000'));
  await say(app, lender, '$5.000');
  await say(app, lender, '15/03');
  const summary = lastTo(app, lender);
  expect(bodyOf(summary)).toContain('$5.000');
  expect(bodyOf(summary)).toContain('15/03/2026');
  const before = sentTo(app, lender).length;
  if (options.typed) await say(app, lender, 'sí');
  else await tap(app, lender, button(summary, ':confirm'));
  return before;
};

describe('the loan conversation', () => {
  let app: InMemoryApp;
  let tenantId: TenantId;
  beforeEach(async () => {
    app = setup();
    tenantId = await app.addTenant(number, 'token-of-the-number', { displayPhone });
    await say(app, lender, 'hola');
    await say(app, borrower, 'hola');
  });

  it('records a loan by buttons, asks the borrower, who confirms; both are told and reminders are planned', async () => {
    await recordLoan(app, { typed: false });
    expect(bodyOf(sentTo(app, lender).at(-1))).toContain(spanish.newLoan.recorded(anasLoan));
    const [loan] = agreements(app);
    expect(loan).toMatchObject({
      status: 'pending_confirmation',
      subject: { kind: 'money', amount: { minor: 5000, currency: 'CLP' } },
      dueDate: { year: 2026, month: 3, day: 15 },
    });
    const request = lastTo(app, borrower);
    expect(bodyOf(request)).toBe(spanish.confirmation.request(anasLoan));
    expect(buttonIds(request)).toEqual([`loan:${loan!.id}:accept`, `loan:${loan!.id}:reject`]);
    await tap(app, borrower, button(request, ':accept'));
    expect(agreements(app)[0]?.status).toBe('active');
    expect(bodyOf(lastTo(app, borrower))).toContain(spanish.confirmation.acceptedToBorrower(anasLoan));
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.confirmation.acceptedToLender(anasLoan));
    expect(
      reminders(app)
        .map((reminder) => reminder.kind)
        .sort(),
    ).toEqual(['day_before', 'due_day', 'lender_overdue_notice', 'overdue_1', 'overdue_3', 'overdue_7']);
    expect(reminders(app).every((reminder) => reminder.status === 'pending')).toBe(true);
  });

  it('takes every step as typed text too, and a typed "sí" confirms the one loan waiting for the borrower', async () => {
    await recordLoan(app, { typed: true });
    expect(agreements(app)).toHaveLength(1);
    await say(app, borrower, 'Sí');
    expect(agreements(app)[0]?.status).toBe('active');
  });

  it('asks again on anything but a clear confirm or cancel, and cancels on cancel', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Pedro');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askBorrowerPhone('Pedro'));
    await say(app, lender, '+56 9 3333 4444');
    await say(app, lender, 'objeto');
    await say(app, lender, 'ab');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.invalidDescription);
    await say(app, lender, 'taladro');
    await say(app, lender, '01/01/2020');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.dueDateInThePast);
    await tap(app, lender, button(sentTo(app, lender).at(-2), ':due:one_week'));
    expect(bodyOf(lastTo(app, lender))).toContain('09/03/2026');
    await say(app, lender, 'mmm no sé');
    expect(bodyOf(sentTo(app, lender).at(-2))).toBe(spanish.newLoan.confirmOrCancel);
    await say(app, lender, 'cancelar');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.cancelled);
    expect(agreements(app)).toEqual([]);
  });

  it('reads amounts the Chilean way and refuses what it cannot read', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Ana +56 9 2222 2222');
    await say(app, lender, 'dinero');
    await say(app, lender, 'mucha plata');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.invalidAmount('$5.000'));
    await say(app, lender, '5 mil');
    await tap(app, lender, button(lastTo(app, lender), ':due:tomorrow'));
    expect(bodyOf(lastTo(app, lender))).toContain('$5.000');
    expect(bodyOf(lastTo(app, lender))).toContain('03/03/2026');
  });

  it('says why it refuses an amount: no cents in pesos, separators read either way, zero or less', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Ana +56 9 2222 2222');
    await say(app, lender, 'dinero');
    await say(app, lender, '12.500,50');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.amountRefused.noDecimals('CLP', '$5.000'));
    await say(app, lender, '1,500');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.amountRefused.ambiguous('1,500', '$5.000'));
    await say(app, lender, '0');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.amountRefused.notPositive('$5.000'));
    await say(app, lender, '12.500');
    expect(buttonIds(lastTo(app, lender)).some((id) => id.endsWith(':due:tomorrow'))).toBe(true);
  });

  it('takes cents where the currency has them, read the way the locale writes them', async () => {
    await expectOk(app.manageTenants.configureTenant(tenantId, { defaultCurrency: 'USD' }));
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Ana +56 9 2222 2222');
    await say(app, lender, 'dinero');
    await say(app, lender, '12.500,50');
    await tap(app, lender, button(lastTo(app, lender), ':due:tomorrow'));
    await tap(app, lender, button(lastTo(app, lender), ':confirm'));
    expect(agreements(app)[0]?.subject).toEqual({
      kind: 'money',
      amount: { minor: 1_250_050, currency: 'USD' },
    });
  });

  it('answers a second tap on an action that already happened with what happened and when', async () => {
    await recordLoan(app, { typed: false });
    const request = lastTo(app, borrower);
    await tap(app, borrower, button(request, ':accept'));
    await tap(app, borrower, button(request, ':accept'));
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.actions.alreadyDone.confirmed('02/03/2026'));
    const [loan] = agreements(app);
    app.clock.advance(24 * 60 * 60 * 1000);
    await tap(app, lender, `loan:${loan!.id}:mark_returned`);
    await tap(app, lender, `loan:${loan!.id}:mark_returned`);
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.actions.alreadyDone.returned('03/03/2026'));
  });

  it('lists what a person can type on "ayuda", opt-out included, even halfway through a loan', async () => {
    await say(app, borrower, 'ayuda');
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.commands);
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Ayuda');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.commands);
    await say(app, lender, 'Ana +56 9 2222 2222');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askKind('Ana'));
    await say(app, lender, 'cancelar');
    await say(app, lender, 'qué es esto');
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.help);
  });

  it('answers "help" in English, and the menu says how to stop messages in either language', async () => {
    expect(lastTo(app, borrower)).toMatchObject({ type: 'buttons', footer: spanish.mainMenu.footer });
    const inEnglish = setup();
    await inEnglish.addTenant(number, 'token-of-the-number', { locale: 'en' });
    await say(inEnglish, lender, 'hi');
    expect(lastTo(inEnglish, lender)).toMatchObject({ type: 'buttons', footer: english.mainMenu.footer });
    await say(inEnglish, lender, 'HELP');
    expect(bodyOf(lastTo(inEnglish, lender))).toBe(english.commands);
  });

  it('takes the borrower from a shared contact card', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, {
      type: 'contacts',
      cards: [{ formattedName: 'Bea Soto', phones: [{ phone: '+56 9 5555 6666', waId: '56955556666' }] }],
    });
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askKind('Bea Soto'));
  });

  it('cuts a long typed name by whole characters, never halving an emoji', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, `${'a'.repeat(79)}😀😀`);
    const asked = bodyOf(lastTo(app, lender));
    expect(asked).toContain(`${'a'.repeat(79)}😀`);
    expect(withoutLoneSurrogates(asked)).toBe(asked);
  });

  it('takes a contact card with a 2,000-character name, cut to a name WhatsApp can show', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, {
      type: 'contacts',
      cards: [
        { formattedName: 'B'.repeat(2000), phones: [{ phone: '+56 9 5555 6666', waId: '56955556666' }] },
      ],
    });
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.askKind('B'.repeat(80)));
  });

  it('quotes only the start of a long text it cannot read as a phone, instead of breaking the reply', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Pedro');
    await say(app, lender, 'x'.repeat(4096));
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.invalidPhone(`${'x'.repeat(39)}…`));
  });

  it('forgets a conversation after 30 minutes of silence, and an old button says so', async () => {
    await tap(app, lender, 'menu:new_loan');
    await say(app, lender, 'Ana +56 9 2222 2222');
    const kindQuestion = lastTo(app, lender);
    app.clock.advance(31 * 60 * 1000);
    await tap(app, lender, button(kindQuestion, ':kind:money'));
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.newLoan.expired);
    await say(app, lender, 'dinero');
    expect(bodyOf(lastTo(app, lender))).not.toContain(spanish.newLoan.askAmount('$5.000'));
  });

  it('acts only on the loan a button names, never on "the latest"', async () => {
    await recordLoan(app, { typed: false });
    const first = lastTo(app, borrower);
    app.clock.advance(60_000);
    await recordLoan(app, { typed: false });
    const second = lastTo(app, borrower);
    await tap(app, borrower, button(first, ':accept'));
    const [older, newer] = [...agreements(app)].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    expect(older?.status).toBe('active');
    expect(newer?.status).toBe('pending_confirmation');
    await say(app, borrower, 'si');
    expect(agreements(app).find((loan) => loan.id === newer!.id)?.status).toBe('active');
    await tap(app, borrower, button(second, ':reject'));
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.actions.alreadyDone.confirmed('02/03/2026'));
  });

  it('lists my loans and offers the actions each allows', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    await tap(app, lender, 'menu:my_loans');
    const list = lastTo(app, lender);
    expect(list?.type).toBe('list');
    const [row] = buttonIds(list);
    await tap(app, lender, row!);
    expect(buttonIds(lastTo(app, lender)).map((id) => id.split(':')[2])).toEqual([
      'mark_returned',
      'remind',
      'cancel',
    ]);
    await say(app, borrower, 'mis préstamos');
    await tap(app, borrower, buttonIds(lastTo(app, borrower))[0]!);
    expect(buttonIds(lastTo(app, borrower)).map((id) => id.split(':')[2])).toEqual(['claim_returned']);
  });

  it('closes a loan when the borrower says it was returned and the lender confirms; reminders stop', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    const [loan] = agreements(app);
    await tap(app, borrower, `loan:${loan!.id}:claim_returned`);
    expect(buttonIds(lastTo(app, lender))).toEqual([
      `loan:${loan!.id}:confirm_return`,
      `loan:${loan!.id}:deny_return`,
    ]);
    await tap(app, lender, `loan:${loan!.id}:confirm_return`);
    expect(agreements(app)[0]?.status).toBe('returned');
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.actions.markedReturnedToBorrower(anasLoan));
    expect(reminders(app).every((reminder) => reminder.status === 'cancelled')).toBe(true);
  });

  it('reminds the borrower at 09:00 in the tenant zone, and tells the lender when it is overdue', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    // The window closes a day after each last message: from then on only templates reach them.
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates
          .upsert(template('loan_reminder', ['claim_returned']))
          .andThen(() => r.templates.upsert(template('loan_overdue_notice', ['mark_returned']))),
      ),
    );
    const before = sentTo(app, borrower).length;
    app.clock.set(new Date('2026-03-14T11:59:00Z'));
    await app.drain();
    expect(sentTo(app, borrower)).toHaveLength(before);
    app.clock.set(reminderTime(app, '2026-03-14T12:00:00Z'));
    await app.drain();
    const dayBefore = lastTo(app, borrower);
    expect(dayBefore).toMatchObject({ type: 'template', name: 'prestabot_loan_reminder' });
    expect(JSON.stringify(dayBefore)).toContain(spanish.reminders.dayBefore(anasLoan));
    await app.drain();
    expect(sentTo(app, borrower)).toHaveLength(before + 1);
    app.clock.set(reminderTime(app, '2026-03-16T12:00:01Z'));
    await app.drain();
    expect(lastTo(app, lender)).toMatchObject({ type: 'template', name: 'prestabot_loan_overdue_notice' });
    const byKind = Object.fromEntries(reminders(app).map((reminder) => [reminder.kind, reminder.status]));
    expect(byKind).toMatchObject({
      day_before: 'queued',
      due_day: 'queued',
      overdue_1: 'queued',
      lender_overdue_notice: 'queued',
      overdue_3: 'pending',
    });
  });

  it('skips reminders, with a reason, when there is no template outside the window or the person opted out', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    app.clock.set(reminderTime(app, '2026-03-14T12:00:00Z'));
    await app.drain();
    expect(reminders(app).find((reminder) => reminder.kind === 'day_before')).toMatchObject({
      status: 'skipped',
      reason: 'no_template',
    });
    expect(app.metrics.count('outbound_skipped_total', { reason: 'no_template' })).toBeGreaterThan(0);
    await say(app, borrower, 'BAJA');
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.optedOut);
    app.clock.set(reminderTime(app, '2026-03-15T12:00:00Z'));
    await app.drain();
    expect(reminders(app).find((reminder) => reminder.kind === 'due_day')).toMatchObject({
      status: 'skipped',
      reason: 'opted_out',
    });
    await say(app, borrower, 'alta');
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.optedIn);
  });

  it('tells the lender when the borrower cannot be reached, and sends the template when one is registered', async () => {
    const stranger = '56977778888';
    await recordLoan(app, { typed: false, to: stranger });
    expect(sentTo(app, stranger)).toEqual([]);
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates.upsert(template('loan_confirmation_request', ['accept', 'reject'])),
      ),
    );
    const [loan] = agreements(app);
    await tap(app, lender, `loan:${loan!.id}:remind`);
    const request = lastTo(app, stranger);
    expect(request).toMatchObject({
      type: 'template',
      name: 'prestabot_loan_confirmation_request',
      language: 'es_CL',
    });
    expect(buttonIds(request)).toEqual([`loan:${loan!.id}:accept`, `loan:${loan!.id}:reject`]);
    await say(app, stranger, { type: 'quick_reply', text: 'Sí, confirmo', payload: buttonIds(request)[0]! });
    expect(agreements(app)[0]?.status).toBe('active');
  });

  it('sends a manual reminder at most once a day, and tells the lender when the next one is possible', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    const [loan] = agreements(app);
    const toBorrower = () => sentTo(app, borrower).length;
    const before = toBorrower();
    await tap(app, lender, `loan:${loan!.id}:remind`);
    expect(bodyOf(lastTo(app, lender))).toContain(spanish.actions.reminderSent(anasLoan));
    expect(toBorrower()).toBe(before + 1);
    app.clock.set(new Date('2026-03-03T11:00:00Z'));
    await tap(app, lender, `loan:${loan!.id}:remind`);
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.actions.remindTooSoon('03/03/2026', '09:00'));
    expect(toBorrower()).toBe(before + 1);
    app.clock.set(new Date('2026-03-03T12:00:00Z'));
    await say(app, borrower, 'hola');
    const beforeSecond = toBorrower();
    await tap(app, lender, `loan:${loan!.id}:remind`);
    expect(bodyOf(lastTo(app, lender))).toContain(spanish.actions.reminderSent(anasLoan));
    expect(toBorrower()).toBe(beforeSecond + 1);
  });

  it('tells a lender who lends to someone the bot cannot reach exactly one message, with a link to the chat', async () => {
    const before = await recordLoan(app, { typed: false, to: '56977778888' });
    expect(sentTo(app, lender).slice(before).map(bodyOf)).toEqual([
      spanish.newLoan.recordedWaiting(spanish.requestHeld.noWindow('Ana', chatLink)),
    ]);
    await say(app, borrower, 'baja');
    const beforeOptedOut = await recordLoan(app, { typed: false });
    expect(sentTo(app, lender).slice(beforeOptedOut).map(bodyOf)).toEqual([
      spanish.newLoan.recordedWaiting(spanish.requestHeld.optedOut('Ana', chatLink)),
    ]);
  });

  it('brings a held request to the borrower when they first write, before the menu, and tells the lender once', async () => {
    const stranger = '56977778888';
    await recordLoan(app, { typed: false, to: stranger });
    const [loan] = agreements(app);
    await say(app, stranger, 'hola');
    const [request, menu, ...more] = sentTo(app, stranger);
    expect(buttonIds(request)).toEqual([`loan:${loan!.id}:accept`, `loan:${loan!.id}:reject`]);
    expect(buttonIds(menu)).toEqual(['menu:new_loan', 'menu:my_loans', 'menu:my_profile']);
    expect(more).toEqual([]);
    expect(bodyOf(lastTo(app, lender))).toBe(spanish.requestDelivered('Ana'));
    const toLender = sentTo(app, lender).length;
    await say(app, stranger, 'hola');
    expect(sentTo(app, stranger).slice(2).map(buttonIds)).toEqual([
      ['menu:new_loan', 'menu:my_loans', 'menu:my_profile'],
    ]);
    expect(sentTo(app, lender)).toHaveLength(toLender);
    await tap(app, stranger, button(request, ':accept'));
    expect(agreements(app)[0]?.status).toBe('active');
  });

  it('tells whoever asked, once, that their notice waits behind the messaging limit, and sends it when there is room', async () => {
    await recordLoan(app, { typed: false });
    const [loan] = agreements(app);
    await tap(app, borrower, `loan:${loan!.id}:accept`);
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates
          .upsert(template('loan_reminder', ['claim_returned']))
          .andThen(() => r.templates.upsert(template('loan_return_claim', ['confirm_return', 'deny_return'])))
          .andThen(() => r.numbers.recordAccountEvent(number as PhoneNumberId, { messagingLimit: 1 })),
      ),
    );
    // The day before's reminder reaches the borrower outside their window: the day's one new person.
    app.clock.set(reminderTime(app, '2026-03-14T12:00:00Z'));
    await app.drain();
    expect(lastTo(app, borrower)).toMatchObject({ type: 'template', name: 'prestabot_loan_reminder' });
    const toLender = sentTo(app, lender).length;
    await tap(app, borrower, `loan:${loan!.id}:claim_returned`);
    const lenderName = `+${lender}`;
    expect(bodyOf(lastTo(app, borrower))).toContain(spanish.notDelivered.heldBehindLimit(lenderName));
    await app.drain();
    expect(sentTo(app, lender)).toHaveLength(toLender);
    expect(await expectOk(app.database.outboxQueue.depth(app.clock.now()))).toMatchObject({ held: 1 });
    // A day later the window has moved on: the lender is asked, and nobody is told twice.
    const toBorrower = sentTo(app, borrower).length;
    app.clock.advance(25 * 60 * 60 * 1000);
    await app.drain();
    expect(lastTo(app, lender)).toMatchObject({ type: 'template', name: 'prestabot_loan_return_claim' });
    expect(sentTo(app, borrower).slice(toBorrower).map(bodyOf).join('\n')).not.toContain(
      spanish.notDelivered.heldBehindLimit(lenderName),
    );
  });

  it('holds a return claim for a lender the bot cannot reach, and brings it when the lender writes', async () => {
    await recordLoan(app, { typed: false });
    const [loan] = agreements(app);
    await tap(app, borrower, `loan:${loan!.id}:accept`);
    app.clock.advance(25 * 60 * 60 * 1000);
    const before = sentTo(app, borrower).length;
    await tap(app, borrower, `loan:${loan!.id}:claim_returned`);
    const lenderName = `+${lender}`;
    expect(sentTo(app, borrower).slice(before).map(bodyOf)).toEqual([
      spanish.actions.claimWaiting(anasLoan, spanish.requestHeld.noWindow(lenderName, chatLink)),
    ]);
    const toLender = sentTo(app, lender).length;
    await say(app, lender, 'buenas');
    expect(sentTo(app, lender).slice(toLender).map(buttonIds)).toEqual([
      [`loan:${loan!.id}:confirm_return`, `loan:${loan!.id}:deny_return`],
      ['menu:new_loan', 'menu:my_loans', 'menu:my_profile'],
    ]);
    expect(bodyOf(lastTo(app, borrower))).toBe(spanish.requestDelivered(lenderName));
  });

  it('switches to the template when Meta fails a free-form notice with 131047', async () => {
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates.upsert(template('loan_confirmation_request', ['accept', 'reject'])),
      ),
    );
    await recordLoan(app, { typed: false });
    const request = app.gateway.accepted
      .filter(
        (send) =>
          send.recipient !== undefined &&
          'phone' in send.recipient &&
          send.recipient.phone === `+${borrower}`,
      )
      .at(-1)!;
    expect(request.message.type).toBe('buttons');
    await expectOk(
      app.ingestWebhook.execute({
        rawBody: encodeBatch([
          deliveryStatus(number, request.wamid!, 'failed', {
            errors: [{ code: 131047, title: 'Re-engagement message' }],
          }),
        ]),
        signature: testSignature(secret),
      }),
    );
    await app.drain();
    expect(lastTo(app, borrower)).toMatchObject({
      type: 'template',
      name: 'prestabot_loan_confirmation_request',
    });
    app.gateway.failNext(number as PhoneNumberId, { code: 131047 });
    const [loan] = agreements(app);
    await tap(app, lender, `loan:${loan!.id}:remind`);
    expect(lastTo(app, borrower)).toMatchObject({ type: 'template' });
  });

  it('queues a reminder once even when a slow worker loses its lease to another', async () => {
    await recordLoan(app, { typed: false });
    await tap(app, borrower, button(lastTo(app, borrower), ':accept'));
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates.upsert(template('loan_reminder', ['claim_returned'])),
      ),
    );
    app.clock.set(reminderTime(app, '2026-03-14T12:00:00Z'));
    const [slow] = await expectOk(
      app.database.reminderQueue.claimDue({ owner: 'slow', now: app.clock.now(), limit: 1, leaseMs: 1000 }),
    );
    app.clock.advance(5000);
    const [fast] = await expectOk(
      app.database.reminderQueue.claimDue({ owner: 'fast', now: app.clock.now(), limit: 1, leaseMs: 60_000 }),
    );
    expect(fast?.id).toBe(slow?.id);
    const outboxBefore = app.database.outboxMessages().length;
    expect(await expectOk(app.sendDueReminder.execute(fast!))).toBe('queued');
    expect(await expectOk(app.sendDueReminder.execute(slow!))).toBe('lease_lost');
    expect(app.database.outboxMessages().length).toBe(outboxBefore + 1);
  });
});
