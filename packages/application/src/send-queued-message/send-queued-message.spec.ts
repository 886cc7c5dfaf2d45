import type { PhoneNumberId, TenantId } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import {
  createInMemoryApp,
  expectOk,
  JsonBatchParser,
  TestSignatureVerifier,
  textOutboxEntry,
} from '../testing/index.ts';
import { retryDelayMs } from './backoff.ts';
import {
  idleSlotAllowanceMs,
  leaseSafetyMs,
  maxSlotMisses,
  outcomeGraceMs,
  outcomeRecordingMs,
  slotToleranceMs,
} from './send-pacing.ts';
import { defaultSendPolicy } from './send-queued-message.ts';

const setup = () =>
  createInMemoryApp({ verifier: new TestSignatureVerifier(), parser: new JsonBatchParser() });
type App = ReturnType<typeof setup>;

const queue = async (app: App, tenantId: TenantId, phoneNumberId = '1001', to?: string) => {
  const entry = textOutboxEntry(phoneNumberId as PhoneNumberId, {
    at: app.clock.now(),
    ...(to === undefined ? {} : { to: to as never }),
  });
  await expectOk(app.database.unitOfWork.run(tenantId, (r) => r.outbox.enqueue([entry])));
  return entry;
};
const claimAndSend = async (app: App) => {
  const sends = await expectOk(
    app.database.outboxQueue.claim({
      owner: 'w',
      limit: 50,
      leaseMs: 30_000,
      now: app.clock.now(),
      horizonMs: 1000,
    }),
  );
  return Promise.all(sends.map((send) => expectOk(app.sendQueuedMessage.execute(send))));
};
const stored = (app: App, id: string) => app.database.outboxMessage(id)!;

describe('SendQueuedMessage', () => {
  it('records the wamid Graph returned and logs the message as sent', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    expect(await claimAndSend(app)).toEqual(['sent']);
    expect(stored(app, entry.id)).toMatchObject({ status: 'sent', wamid: app.gateway.accepted[0]?.wamid });
    expect(app.database.outboundMessages()).toMatchObject([{ outboxId: entry.id, status: 'accepted' }]);
  });

  it('retries throttling and 5xx with backoff, then gives up after the last attempt', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    app.gateway.failNext('1001' as PhoneNumberId, ...Array.from({ length: 8 }, () => ({ code: 131000 })));
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      outcomes.push(...(await claimAndSend(app)));
      app.clock.advance(10 * 60 * 1000);
    }
    expect(outcomes).toEqual([...Array(7).fill('retry_scheduled'), 'failed']);
    expect(stored(app, entry.id)).toMatchObject({
      status: 'failed',
      lastFailure: { reason: 'retryable_retries_exhausted', code: 131000 },
    });
  });

  it("never gives up a message for the number's throughput (130429): it is the number's pace, not the message", async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    app.gateway.failNext('1001' as PhoneNumberId, ...Array.from({ length: 12 }, () => ({ code: 130429 })));
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 13; attempt += 1) {
      outcomes.push(...(await claimAndSend(app)));
      app.clock.advance(10 * 60 * 1000);
    }
    expect(outcomes).toEqual([...Array(12).fill('retry_scheduled'), 'sent']);
    expect(stored(app, entry.id)).toMatchObject({ status: 'sent' });
  });

  it('gives a message whose send slot passed back to the queue, counting the miss but no attempt; after maxSlotMisses it goes late', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    const misses = Array.from({ length: maxSlotMisses }, () => ({ slotMissed: true as const }));
    app.gateway.failNext('1001' as PhoneNumberId, ...misses);
    for (const [index] of misses.entries()) {
      expect(await claimAndSend(app)).toEqual(['slot_missed']);
      expect(stored(app, entry.id)).toMatchObject({ status: 'pending', attempts: 0, slotMisses: index + 1 });
      expect(stored(app, entry.id).lease).toBeUndefined();
    }
    expect(await claimAndSend(app)).toEqual(['sent']);
    expect(stored(app, entry.id)).toMatchObject({ status: 'sent', attempts: 1 });
    // Each try had to leave within its slot's tolerance (the first, alone on an idle number, with the
    // allowance on top; the number was not idle for the others), but the last, which only had to leave
    // well inside its lease.
    const leeway = app.gateway.attempts.map(
      (attempt) => attempt.deadline!.getTime() - attempt.notBefore!.getTime(),
    );
    expect(leeway).toEqual([
      slotToleranceMs + idleSlotAllowanceMs,
      ...misses.slice(1).map(() => slotToleranceMs),
      30_000 - leaseSafetyMs,
    ]);
  });

  it('asks Graph to answer while its lease still holds, leaving time to record the answer', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    await queue(app, tenantId);
    expect(await claimAndSend(app)).toEqual(['sent']);
    const [attempt] = app.gateway.attempts;
    // The claim leased it for 30 s from its slot.
    expect(attempt!.answerBy!.getTime()).toBe(attempt!.notBefore!.getTime() + 30_000 - outcomeRecordingMs);
    expect(attempt!.answerBy!.getTime()).toBeGreaterThan(attempt!.deadline!.getTime());
  });

  it('waits out the outcome grace before trying again a send whose answer was lost, so its status can prove it sent', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const refused = await queue(app, tenantId, '1001', '+56911110001');
    app.gateway.failNext('1001' as PhoneNumberId, { network: true });
    await claimAndSend(app);
    const now = app.clock.now().getTime();
    // A connection that never carried the request: try again on the usual backoff.
    expect(stored(app, refused.id).availableAt.getTime() - now).toBeLessThan(outcomeGraceMs);
    const lost = await queue(app, tenantId, '1001', '+56911110002');
    app.gateway.failNext('1001' as PhoneNumberId, { network: true, answerLost: true });
    await claimAndSend(app);
    // One that may have: Meta may have sent it, and its status webhook would say so within the grace.
    expect(stored(app, lost.id).availableAt.getTime() - now).toBeGreaterThanOrEqual(outcomeGraceMs);
  });

  it("honours Meta's Retry-After", async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    app.gateway.failNext('1001' as PhoneNumberId, { code: 130429, retryAfterMs: 90_000 });
    await claimAndSend(app);
    expect(stored(app, entry.id).availableAt.getTime() - app.clock.now().getTime()).toBe(90_000);
  });

  it('flags the number on 190 and sends nothing more for it until the token is rotated', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    app.gateway.allow('1001' as PhoneNumberId, 'token-that-meta-now-wants');
    await queue(app, tenantId);
    await queue(app, tenantId);
    expect(await claimAndSend(app)).toEqual(['token_invalid', 'token_invalid']);
    const attemptsBefore = app.gateway.attempts.length;
    app.clock.advance(60 * 60 * 1000);
    expect(await claimAndSend(app)).toEqual([]);
    expect(app.gateway.attempts.length).toBe(attemptsBefore);
    expect((await expectOk(app.manageTenants.listTenants()))[0]?.tokenStatus).toMatch(
      /^INVALID \(last 190 at /,
    );
    await expectOk(app.manageTenants.rotateToken('1001', 'token-that-meta-now-wants'));
    expect(await claimAndSend(app)).toEqual(['sent', 'sent']);
  });

  it('sends the messages held for an invalid token when it is rotated, however long after the 190', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    app.gateway.allow('1001' as PhoneNumberId, 'token-that-meta-now-wants');
    await queue(app, tenantId);
    expect(await claimAndSend(app)).toEqual(['token_invalid']);
    app.clock.advance(3 * 24 * 60 * 60 * 1000);
    await expectOk(app.manageTenants.rotateToken('1001', 'token-that-meta-now-wants'));
    expect(await claimAndSend(app)).toEqual(['sent']);
  });

  it('holds only the recipient Meta says we wrote to too often', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const busy = await queue(app, tenantId, '1001', '+56911111111');
    app.clock.advance(1);
    const other = await queue(app, tenantId, '1001', '+56922222222');
    app.gateway.failNext('1001' as PhoneNumberId, { code: 131056 });
    expect(await claimAndSend(app)).toEqual(['recipient_held', 'sent']);
    expect(stored(app, busy.id).status).toBe('pending');
    expect(stored(app, other.id).status).toBe('sent');
    app.clock.advance(5000);
    expect(await claimAndSend(app)).toEqual([]);
    app.clock.advance(2000);
    expect(await claimAndSend(app)).toEqual(['sent']);
  });

  it('fails for good on what retrying cannot fix, keeping code and title', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const rejected = await queue(app, tenantId);
    app.gateway.failNext('1001' as PhoneNumberId, {
      code: 132001,
      title: 'Template name does not exist in the translation',
    });
    expect(await claimAndSend(app)).toEqual(['failed']);
    expect(stored(app, rejected.id)).toMatchObject({
      status: 'failed',
      lastFailure: {
        reason: 'rejected',
        code: 132001,
        title: 'Template name does not exist in the translation',
      },
    });
    const closed = await queue(app, tenantId);
    app.gateway.failNext('1001' as PhoneNumberId, { code: 131047 });
    expect(await claimAndSend(app)).toEqual(['failed']);
    expect(stored(app, closed.id).lastFailure?.reason).toBe('window_closed');
  });

  it('drops a message that waited longer than a day', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const entry = await queue(app, tenantId);
    app.clock.advance(25 * 60 * 60 * 1000);
    expect(await claimAndSend(app)).toEqual(['failed']);
    expect(stored(app, entry.id).lastFailure?.reason).toBe('expired');
    expect(app.gateway.attempts).toEqual([]);
  });

  it("classifies Meta's limit and policy refusals, with no fast retry", async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const number = '1001' as PhoneNumberId;
    const spam = await queue(app, tenantId);
    app.gateway.failNext(number, { code: 131048, title: 'Spam rate limit hit' });
    expect(await claimAndSend(app)).toEqual(['retry_scheduled']);
    expect(stored(app, spam.id)).toMatchObject({
      status: 'pending',
      lastFailure: { reason: 'spam_limited' },
    });
    expect(stored(app, spam.id).availableAt.getTime() - app.clock.now().getTime()).toBe(
      defaultSendPolicy.spamLimitPauseMs,
    );
    app.clock.advance(defaultSendPolicy.spamLimitPauseMs);
    expect(await claimAndSend(app)).toEqual(['sent']);

    const marketing = await queue(app, tenantId);
    app.gateway.failNext(number, { code: 131049 });
    expect(await claimAndSend(app)).toEqual(['failed']);
    expect(stored(app, marketing.id).lastFailure?.reason).toBe('marketing_limited');

    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.templates.upsert({
          purpose: 'loan_reminder',
          name: 'prestabot_loan_reminder',
          language: 'es_CL',
          parameters: [],
          quickReplies: [],
        }),
      ),
    );
    const paused = {
      ...textOutboxEntry(number, { at: app.clock.now() }),
      message: {
        type: 'template' as const,
        name: 'prestabot_loan_reminder',
        language: 'es_CL',
        components: [],
      },
    };
    await expectOk(app.database.unitOfWork.run(tenantId, (r) => r.outbox.enqueue([paused])));
    app.gateway.failNext(number, { code: 132015, title: 'Template is paused' });
    expect(await claimAndSend(app)).toEqual(['failed']);
    expect(stored(app, paused.id).lastFailure?.reason).toBe('template_stopped');
    expect(
      await expectOk(
        app.database.unitOfWork.run(tenantId, (r) => r.templates.find('loan_reminder', 'es_CL')),
      ),
    ).toBeUndefined();

    // A policy block stops the number, as a rejected token does, until the operator sets its token again.
    const blocked = await queue(app, tenantId);
    app.gateway.failNext(number, { code: 368, title: 'Temporarily blocked for policies violations' });
    expect(await claimAndSend(app)).toEqual(['token_invalid']);
    expect(stored(app, blocked.id).lastFailure).toMatchObject({ reason: 'number_blocked', code: 368 });
    const waiting = await queue(app, tenantId);
    app.clock.advance(25 * 60 * 60 * 1000);
    expect(await claimAndSend(app)).toEqual([]);
    expect(stored(app, waiting.id).status).toBe('pending');
    expect(app.logger.lines.some((line) => line.message.includes('Meta blocked number 1001 (code 368'))).toBe(
      true,
    );
  });

  it('never drops a message the messaging limit held as stale, and counts its send as a release', async () => {
    const app = setup();
    const tenantId = await app.addTenant('1001', 'token-a');
    const number = '1001' as PhoneNumberId;
    await expectOk(
      app.database.unitOfWork.run(tenantId, (r) =>
        r.numbers.recordAccountEvent(number, { messagingLimit: 1 }),
      ),
    );
    const template = {
      type: 'template' as const,
      name: 'prestabot_loan_reminder',
      language: 'es_CL',
      components: [],
    };
    const entries = [0, 1].map(() => ({
      ...textOutboxEntry(number, { at: app.clock.now() }),
      message: template,
    }));
    await expectOk(app.database.unitOfWork.run(tenantId, (r) => r.outbox.enqueue(entries)));
    expect(await claimAndSend(app)).toEqual(['sent']);
    expect(app.metrics.count('messaging_limit_released_total')).toBe(0);
    app.clock.advance(25 * 60 * 60 * 1000);
    expect(await claimAndSend(app)).toEqual(['sent']);
    expect(app.metrics.count('messaging_limit_released_total')).toBe(1);
  });
});

describe('full-jitter backoff', () => {
  it('waits a random time under an exponentially growing, capped ceiling', () => {
    const options = { baseMs: 1000, capMs: 60_000 };
    expect(retryDelayMs(0, () => 0.999, options)).toBe(999);
    expect(retryDelayMs(3, () => 0.5, options)).toBe(4000);
    expect(retryDelayMs(20, () => 0.999, options)).toBe(59_940);
    expect(retryDelayMs(0, () => 0, { ...options, retryAfterMs: 30_000 })).toBe(30_000);
  });
});
