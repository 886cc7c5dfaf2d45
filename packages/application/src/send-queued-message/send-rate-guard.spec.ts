import type { PhoneNumberId } from '@prestabot/domain';
import { ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { ManageTenants } from '../manage-tenants/manage-tenants.ts';
import type { TenantDirectory } from '../ports/tenant-directory.port.ts';
import {
  expectOk,
  FakeSecretCipher,
  InMemoryDatabase,
  ManualClock,
  ManualTimers,
  maxInAnySecond,
  RecordingLogger,
  SequentialIds,
  TimedGateway,
} from '../testing/index.ts';
import { slotSpacingMs, slotToleranceMs } from './send-pacing.ts';
import { SendRateGuard } from './send-rate-guard.ts';

const t0 = new Date('2026-03-02T12:00:00.000Z');

/**
 * Number 1001 stored with token `stored` and `ratePerSecond`, behind a `SendRateGuard` whose directory
 * answers after `lookupMs` (manual time); Graph accepts `accepted`.
 */
const guardedNumber = async (number: {
  stored: string;
  accepted: string;
  ratePerSecond: number;
  lookupMs?: number;
}) => {
  const database = new InMemoryDatabase();
  const clock = new ManualClock(t0);
  const timers = new ManualTimers(clock);
  await expectOk(
    new ManageTenants({ ...database, cipher: new FakeSecretCipher(), ids: new SequentialIds() }).addTenant({
      name: 'A',
      phoneNumberId: '1001',
      accessToken: number.stored,
      wabaId: '1',
      ratePerSecond: number.ratePerSecond,
    }),
  );
  const inner = new TimedGateway(clock);
  inner.inner.allow('1001' as PhoneNumberId, number.accepted);
  const stored = database.directory;
  const { lookupMs } = number;
  const slowly = (ms: number) =>
    ResultAsync.fromSafePromise(new Promise<void>((resolve) => timers.setTimeout(() => resolve(), ms)));
  const directory: TenantDirectory =
    lookupMs === undefined
      ? stored
      : {
          listApps: (...args) => stored.listApps(...args),
          listTenants: (...args) => stored.listTenants(...args),
          findWabaNumbers: (...args) => stored.findWabaNumbers(...args),
          findNumber: (phoneNumberId) => slowly(lookupMs).andThen(() => stored.findNumber(phoneNumberId)),
          findNumbers: (phoneNumberIds) => slowly(lookupMs).andThen(() => stored.findNumbers(phoneNumberIds)),
        };
  const gateway = new SendRateGuard({ directory, clock, logger: new RecordingLogger(), timers }).guard(inner);
  return { timers, inner, gateway };
};

describe('SendRateGuard', () => {
  it("lets a burst through up to the number's rate, then one by one in order as the window slides", async () => {
    const { timers, inner, gateway } = await guardedNumber({ stored: 't', accepted: 't', ratePerSecond: 10 });
    const bodies = Array.from({ length: 25 }, (_, index) => `message ${index}`);
    const sent = Promise.all(
      bodies.map((body) =>
        gateway.send({
          phoneNumberId: '1001' as PhoneNumberId,
          accessToken: 't',
          recipient: { phone: '+56911112222' as never },
          message: { type: 'text', body, previewUrl: false },
        }),
      ),
    );
    await timers.runFor(5000);
    expect((await sent).every((result) => result.isOk())).toBe(true);
    const times = inner.sentAt.map((send) => send.at);
    expect(times.filter((time) => time.getTime() === t0.getTime())).toHaveLength(10);
    expect(maxInAnySecond(times)).toBeLessThanOrEqual(10);
    expect(inner.inner.accepted.map((send) => (send.message as { body: string }).body)).toEqual(bodies);
  });

  it('never holds a send that keeps to its slot because one a whole rate earlier left a little late', async () => {
    const { timers, inner, gateway } = await guardedNumber({ stored: 't', accepted: 't', ratePerSecond: 10 });
    // Six seconds of slots; every eleventh send leaves late, within its tolerance.
    const slots = Array.from({ length: 60 }, (_, index) => Math.ceil(index * slotSpacingMs(10)));
    const lateMs = (index: number) => (index % 11 === 0 ? slotToleranceMs - 1 : 0);
    const sends = slots.map(
      (slotMs, index) =>
        new Promise<unknown>((resolve) =>
          timers.setTimeout(
            () =>
              resolve(
                gateway.send({
                  phoneNumberId: '1001' as PhoneNumberId,
                  accessToken: 't',
                  recipient: { phone: '+56911112222' as never },
                  message: { type: 'text', body: `message ${index}`, previewUrl: false },
                  notBefore: new Date(t0.getTime() + slotMs),
                  deadline: new Date(t0.getTime() + slotMs + slotToleranceMs),
                }),
              ),
            slotMs + lateMs(index),
          ),
        ),
    );
    await timers.runFor(7000);
    await Promise.all(sends);
    expect(inner.sentAt.map((send) => send.at.getTime() - t0.getTime())).toEqual(
      slots.map((slotMs, index) => slotMs + lateMs(index)),
    );
  });

  it("reads the number's rate while a send waits for its slot: a slow lookup does not make it late", async () => {
    const { timers, inner, gateway } = await guardedNumber({
      stored: 't',
      accepted: 't',
      ratePerSecond: 80,
      lookupMs: 20,
    });
    const slotMs = 30;
    const sent = gateway.send({
      phoneNumberId: '1001' as PhoneNumberId,
      accessToken: 't',
      recipient: { phone: '+56911112222' as never },
      message: { type: 'text', body: 'hola', previewUrl: false },
      notBefore: new Date(t0.getTime() + slotMs),
      deadline: new Date(t0.getTime() + slotMs + slotToleranceMs),
    });
    await timers.runFor(200);
    expect((await sent).isOk()).toBe(true);
    expect(inner.sentAt.map((send) => send.at.getTime() - t0.getTime())).toEqual([slotMs]);
  });

  it('answers a send past its deadline with send_slot_missed, before or after holding it, without sending', async () => {
    const { timers, inner, gateway } = await guardedNumber({ stored: 't', accepted: 't', ratePerSecond: 1 });
    const request = (body: string, deadline: Date) => ({
      phoneNumberId: '1001' as PhoneNumberId,
      accessToken: 't',
      recipient: { phone: '+56911112222' as never },
      message: { type: 'text' as const, body, previewUrl: false },
      deadline,
    });
    expect((await gateway.send(request('late', new Date(t0.getTime() - 1))))._unsafeUnwrapErr()).toEqual({
      type: 'send_slot_missed',
    });
    expect((await gateway.send(request('on time', new Date(t0.getTime() + 20)))).isOk()).toBe(true);
    // The number's one send a second is taken: this one is held past its deadline, then refused.
    const held = gateway.send(request('held', new Date(t0.getTime() + 500)));
    await timers.runFor(2000);
    expect((await held)._unsafeUnwrapErr()).toEqual({ type: 'send_slot_missed' });
    expect(inner.inner.accepted.map((send) => (send.message as { body: string }).body)).toEqual(['on time']);
  });

  it('holds a send until its slot, and does not try a token Graph rejected while it was held', async () => {
    const { timers, inner, gateway } = await guardedNumber({
      stored: 'old',
      accepted: 'new',
      ratePerSecond: 80,
    });
    const request = (accessToken: string, slotMs: number) => ({
      phoneNumberId: '1001' as PhoneNumberId,
      accessToken,
      recipient: { phone: '+56911112222' as never },
      message: { type: 'text' as const, body: 'hola', previewUrl: false },
      notBefore: new Date(t0.getTime() + slotMs),
    });
    const first = gateway.send(request('old', 50));
    const second = gateway.send(request('old', 80));
    const rotated = gateway.send(request('new', 90));
    await timers.runFor(1000);
    expect((await first)._unsafeUnwrapErr()).toMatchObject({ type: 'send_token_invalid', code: 190 });
    expect((await second)._unsafeUnwrapErr()).toMatchObject({ type: 'send_token_invalid', code: 190 });
    expect((await rotated).isOk()).toBe(true);
    // Graph was asked twice: the first send with the old token, at its slot, and the one with the new token.
    expect(inner.sentAt.map((send) => send.at.getTime() - t0.getTime())).toEqual([50, 90]);
    // A send that starts after the rejection asks Graph again: the old token may have been restored.
    const later = gateway.send(request('old', 1200));
    await timers.runFor(1000);
    expect((await later)._unsafeUnwrapErr()).toMatchObject({ type: 'send_token_invalid' });
    expect(inner.sentAt).toHaveLength(3);
  });
});
