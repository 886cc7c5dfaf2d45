import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, catalogFor } from '@prestabot/application';
import {
  addDays,
  type ContactId,
  type E164,
  localDateOf,
  okAsync,
  parseTimeZone,
  type Result,
  type TenantId,
  zonedInstant,
} from '@prestabot/domain';
import { freeLoopbackPort, startFakeGraph } from '@prestabot/fake-graph';
import { loadConfig, openBot } from '@prestabot/runtime';
import { pino } from 'pino';
import { createLogger } from '../logger.ts';
import { PrometheusMetrics } from '../metrics.ts';
import { nodeHmacSha256 } from '../node-hmac.ts';
import { startServer } from '../server.ts';
import { DemoChat, type DemoNumber, type Person, tappables } from './demo-chat.ts';

/** The bot's clock in the demo: real time, moved forward on demand to show reminders falling due. */
class ShiftableClock implements Clock {
  #offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  moveTo(at: Date): void {
    this.#offsetMs = Math.max(this.#offsetMs, at.getTime() - Date.now());
  }
}

/** The demo sets everything up itself: anything unexpected is a bug worth stopping on. */
const must = <T, E>(result: Result<T, E>, what: string): T =>
  result.match(
    (value) => value,
    (error) => {
      throw new Error(`${what}: ${JSON.stringify(error)}`);
    },
  );

/**
 * The sandbox: an embedded database in a temporary folder, the fake Graph API, the real server and worker,
 * two tenants on two numbers with different tokens, and a scripted conversation on both, printed as a
 * transcript and checked at the end. Returns the exit code.
 */
export const runDemo = async (write: (line: string) => void): Promise<number> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'prestabot-demo-'));
  const port = await freeLoopbackPort();
  const appSecret = `demo-app-secret-${crypto.randomUUID()}`;
  const tenantProfileFlowId = '1234567890123456';
  const defaultProfileFlowId = '6543210987654321';
  const ana = { name: 'Ana', waId: '56911111111' };
  const bea = { name: 'Bea', waId: '56922222222' };
  const carla = { name: 'Carla', waId: '56933333333' };
  const diego = { name: 'Diego', waId: '56944444444' };
  const numberA: DemoNumber = {
    label: 'A',
    phoneNumberId: '106540352242922',
    accessToken: `EAAG-demo-A-${crypto.randomUUID()}`,
    wabaId: '102290129340398',
    people: [ana, bea],
  };
  const numberB: DemoNumber = {
    label: 'B',
    phoneNumberId: '113355779900112',
    accessToken: `EAAG-demo-B-${crypto.randomUUID()}`,
    wabaId: '109876543210987',
    people: [carla, diego],
  };
  const fake = await startFakeGraph({
    numbers: [numberA, numberB],
    webhook: { url: `http://127.0.0.1:${port}/webhook`, appSecret },
    autoStatuses: { sequence: ['sent', 'delivered', 'read'], stepMs: 30 },
    pairLimit: false,
  });
  const config = loadConfig({
    PRESTABOT_DATA_DIR: dataDir,
    PORT: String(port),
    WHATSAPP_VERIFY_TOKEN: 'demo-verify-token',
    META_APP_SECRET: appSecret,
    PRESTABOT_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
    META_GRAPH_URL: fake.url,
    WHATSAPP_PROFILE_FLOW_ID: defaultProfileFlowId,
    LOG_LEVEL: 'warn',
  });
  const clock = new ShiftableClock();
  // Only real trouble on stderr: the transcript says what happens, including what the bot chose not to send.
  const logger = createLogger('error', pino.destination(2));
  const metrics = new PrometheusMetrics();
  const opened = await openBot(must(config, 'demo configuration'), {
    owner: 'demo',
    logger,
    metrics,
    migrate: true,
    clock,
    hmac: nodeHmacSha256,
    runAfterResponse: (work) => void work.catch(() => undefined),
  });
  const bot = must(opened, 'opening the bot');
  const server = await startServer({ ...bot, metrics }, { port, worker: true });
  const chat = new DemoChat(fake, appSecret, write);
  const checks: { readonly ok: boolean; readonly label: string }[] = [];
  try {
    write('PrestaBot sandbox: embedded database, fake Graph API, two tenants on two numbers.\n');
    const manage = bot.admin.tenants;
    const { tenantId: tenantA } = must(
      await manage.addTenant({
        name: 'Préstamos de Ana',
        phoneNumberId: numberA.phoneNumberId,
        accessToken: numberA.accessToken,
        wabaId: numberA.wabaId,
      }),
      'tenant A',
    );
    const { tenantId: tenantB } = must(
      await manage.addTenant({
        name: 'Club de Herramientas',
        phoneNumberId: numberB.phoneNumberId,
        accessToken: numberB.accessToken,
        wabaId: numberB.wabaId,
        displayPhone: '+56229405000',
      }),
      'tenant B',
    );
    const templates = bot.admin.templates;
    for (const [purpose, quickReplies] of [
      ['loan_confirmation_request', 'accept,reject'],
      ['loan_reminder', 'claim_returned'],
      ['loan_overdue_notice', 'mark_returned'],
      ['loan_return_claim', 'confirm_return,deny_return'],
      ['loan_update', ''],
    ] as const) {
      must(
        await templates.add({
          tenant: tenantA,
          purpose,
          name: `prestabot_${purpose}`,
          language: 'es_CL',
          parameters: 'message',
          quickReplies,
        }),
        purpose,
      );
    }
    must(await manage.configureTenant(tenantA, { profileFlowId: tenantProfileFlowId }), 'tenant A settings');
    // Each number its own Flows key, stored sealed and its public half uploaded with the number's token.
    const fingerprints: string[] = [];
    for (const number of [numberA, numberB]) {
      fingerprints.push(must(await bot.flowKeys.generate(number.phoneNumberId), 'Flows key').fingerprint);
      must(await bot.flowKeys.register(number.phoneNumberId), 'registering the Flows key');
    }
    write(
      `Tenant A "Préstamos de Ana": number ${numberA.phoneNumberId}, approved templates, profile Flow ${tenantProfileFlowId}, Flows key ${fingerprints[0]}.`,
    );
    write(
      `Tenant B "Club de Herramientas": number ${numberB.phoneNumberId}, no templates, the default profile Flow ${defaultProfileFlowId}, Flows key ${fingerprints[1]}.\n`,
    );

    write('── Ana records a loan to Bea on number A; Carla starts on number B ──');
    await chat.text(numberA, ana, 'hola');
    await chat.text(numberB, carla, 'Hola!');
    await chat.tap(numberA, ana, 'Nuevo préstamo');
    await chat.text(numberB, carla, 'nuevo préstamo');
    await chat.text(numberA, ana, 'Bea +56 9 2222 2222');
    await chat.say(numberB, carla, {
      type: 'contacts',
      cards: [{ formattedName: 'Diego', phones: [{ phone: '+56 9 4444 4444', waId: diego.waId }] }],
    });
    await chat.tap(numberA, ana, 'Dinero');
    await chat.text(numberB, carla, 'un objeto');
    await chat.text(numberA, ana, '$5.000');
    await chat.text(numberB, carla, 'taladro');
    await chat.tap(numberA, ana, 'En una semana');
    await chat.text(numberB, carla, '30/12');
    write(
      '\n── Both confirm. Bea has never written, so she gets the approved template; Diego has not either,',
    );
    write('── and number B has no templates: Carla hears, in one message, that the request waits for him ──');
    await chat.tap(numberA, ana, 'Confirmar');
    await chat.text(numberB, carla, 'sí');
    await chat.tap(numberA, bea, 'accept');
    write(
      "\n── Diego writes for the first time: Carla's request comes before the menu, and Carla is told ──",
    );
    await chat.text(numberB, diego, 'hola');
    // The menu leaves once the request has: one message per person at a time.
    await chat.settle(numberB);
    await chat.tap(numberB, diego, 'Sí, confirmo');

    write("\n── Six days later, in the 9 o'clock hour in Santiago, the reminder falls due ──");
    const santiago = must(parseTimeZone('America/Santiago'), 'time zone');
    const dayBefore = addDays(localDateOf(clock.now(), santiago), 6);
    // Each loan's reminder has its own minute within the send hour, so the hour's end has them all due.
    clock.moveTo(zonedInstant(dayBefore, 10, 0, santiago));
    await bot.bot.reminderWorker.runOnce();
    bot.bot.outboxDispatcher.notify();
    await chat.settle(numberA);
    write('\n── Bea says she returned it; Ana confirms; the loan is closed ──');
    await chat.tap(numberA, bea, 'claim_returned');
    await chat.tap(numberA, ana, 'confirm_return');

    write('\n── Ana and Carla fill in "Mi perfil", a WhatsApp Flow, each on her own number ──');
    const flowsUrl = `http://127.0.0.1:${port}/flows`;
    await chat.tap(numberA, ana, 'Mi perfil');
    const profileA = await chat.fillFlow(numberA, ana, flowsUrl, {
      name: 'Ana Rojas',
      email: 'ana@example.com',
      bank_name: 'Banco Estado',
      account_type: 'sight',
      account_number: '12345678',
      holder_name: 'Ana Rojas',
    });
    await chat.text(numberB, carla, 'perfil');
    const profileB = await chat.fillFlow(numberB, carla, flowsUrl, {
      name: 'Carla Díaz',
      email: 'carla@example.com',
      bank_name: '',
      account_type: '',
      account_number: '',
      holder_name: '',
    });

    write('\n── Checks ──');
    await fake.settled();
    const statsA = fake.stats(numberA.phoneNumberId);
    const statsB = fake.stats(numberB.phoneNumberId);
    const onlyTo = (number: DemoNumber) =>
      fake
        .accepted(number.phoneNumberId)
        .every(
          (message) =>
            message.recipient === undefined ||
            number.people.some(
              (person) => 'phone' in message.recipient! && message.recipient.phone === `+${person.waId}`,
            ),
        );
    checks.push({
      ok: statsA.accepted > 0 && statsA.errors['190'] === undefined,
      label: `number A answered with its own token (${statsA.accepted} messages, no token refused)`,
    });
    checks.push({
      ok: statsB.accepted > 0 && statsB.errors['190'] === undefined,
      label: `number B answered with its own token (${statsB.accepted} messages, no token refused)`,
    });
    checks.push({
      ok: onlyTo(numberA) && onlyTo(numberB),
      label: "each number wrote only to its own tenant's people",
    });
    const texts = catalogFor('es-CL');
    const [diegoFirst, diegoSecond] = chat.received(numberB, diego);
    const toCarla = chat.received(numberB, carla).map((message) => ('body' in message ? message.body : ''));
    checks.push({
      ok:
        tappables(diegoFirst!).some((item) => item.id.endsWith(':accept')) &&
        tappables(diegoSecond!).some((item) => item.id === 'menu:new_loan') &&
        toCarla.filter((body) => body === texts.requestDelivered('Diego')).length === 1 &&
        toCarla.filter((body) => body.startsWith(texts.newLoan.recordedWaiting(''))).length === 1,
      label:
        'Carla was told once that her request waits for Diego and once that it reached him; Diego got it before the menu',
    });
    const unitOfWork = bot.storage.unitOfWork;
    const loanOf = async (tenantId: TenantId, person: Person) =>
      must(
        await unitOfWork.run(tenantId, (repositories) =>
          repositories.contacts
            .findByPhone(`+${person.waId}` as E164)
            .andThen((contact) =>
              repositories.agreements.listFor(
                (contact?.id ?? '00000000-0000-4000-8000-000000000000') as ContactId,
                10,
              ),
            ),
        ),
        'loans',
      );
    const [loanA] = await loanOf(tenantA, ana);
    const [loanB] = await loanOf(tenantB, carla);
    checks.push({
      ok: loanA?.status === 'returned',
      label: `tenant A's loan: created, confirmed, reminded, returned (${loanA?.status})`,
    });
    checks.push({
      ok: loanB?.status === 'active',
      label: `tenant B's loan: created and confirmed beside it (${loanB?.status})`,
    });
    checks.push({
      ok: (await loanOf(tenantB, ana)).length === 0 && (await loanOf(tenantA, carla)).length === 0,
      label: "neither tenant sees the other's people or loans",
    });
    const emailOf = async (tenantId: TenantId, person: Person) =>
      must(
        await unitOfWork.run(tenantId, (repositories) =>
          repositories.contacts
            .findByPhone(`+${person.waId}` as E164)
            .andThen((contact) =>
              contact === undefined ? okAsync(undefined) : repositories.profiles.get(contact.id),
            ),
        ),
        'profile',
      )?.email;
    checks.push({
      ok:
        profileA.saved &&
        profileB.saved &&
        profileA.flowId === tenantProfileFlowId &&
        profileB.flowId === defaultProfileFlowId &&
        fingerprints[0] !== fingerprints[1] &&
        (await emailOf(tenantA, ana)) === 'ana@example.com' &&
        (await emailOf(tenantB, carla)) === 'carla@example.com',
      label: `the profile Flow completed on both tenants, each with its own Flow id (${profileA.flowId}, ${profileB.flowId}) and key`,
    });
    for (const check of checks) write(`${check.ok ? '✓' : '✗'} ${check.label}`);
    return checks.every((check) => check.ok) ? 0 : 1;
  } finally {
    await server.stop();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  }
};
