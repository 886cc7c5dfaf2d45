import { encodeSendBody } from '@prestabot/adapters-meta';
import type { E164, OutboundMessage } from '@prestabot/domain';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGraph, startFakeGraph } from './fake-graph.ts';

const numberA = { phoneNumberId: '106540352242922', accessToken: 'EAAG-token-of-a' };
const numberB = { phoneNumberId: '113355779900112', accessToken: 'EAAG-token-of-b' };
const template: OutboundMessage = {
  type: 'template',
  name: 'loan_reminder',
  language: 'es_CL',
  components: [],
};
const text: OutboundMessage = { type: 'text', body: 'hola', previewUrl: false };
const person = (n: number) => ({ phone: `+5691111${String(n).padStart(4, '0')}` as E164 });
const dayMs = 24 * 60 * 60 * 1000;

// Pins the fake's portfolio messaging limit: what the bot's claims keep under (OutboxQueue).
describe("fake Graph API: a portfolio's messaging limit", () => {
  let fake: FakeGraph;
  let now = new Date('2026-03-02T12:00:00Z');
  afterEach(async () => {
    await fake.close();
  });

  const send = async (number: typeof numberA, message: OutboundMessage, to: number) => {
    const response = await request(`${fake.url}/v24.0/${number.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${number.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(encodeSendBody({ message, recipient: person(to) })),
    });
    const body = (await response.body.json()) as { readonly error?: { readonly code: number } };
    return body.error?.code ?? response.statusCode;
  };

  it('refuses a template to a new person past the limit its numbers share, with 131048, for 24 hours', async () => {
    fake = await startFakeGraph({ numbers: [numberA, numberB], clock: () => now, pairLimit: false });
    for (const number of [numberA, numberB])
      fake.setMetaFields(number.phoneNumberId, { messagingLimit: '2' });
    expect(await send(numberA, template, 1)).toBe(200);
    expect(await send(numberB, template, 2)).toBe(200);
    expect(await send(numberA, template, 3)).toBe(131048);
    expect(await send(numberB, template, 3)).toBe(131048);
    // Someone reached already costs nothing more; free-form messages are not counted.
    expect(await send(numberB, template, 1)).toBe(200);
    expect(await send(numberA, text, 3)).toBe(200);
    now = new Date(now.getTime() + dayMs - 1000);
    expect(await send(numberA, template, 3)).toBe(131048);
    // A day after, both have left the window and two places free.
    now = new Date(now.getTime() + 2000);
    expect(await send(numberA, template, 3)).toBe(200);
    expect(await send(numberA, template, 4)).toBe(200);
    expect(await send(numberA, template, 5)).toBe(131048);
    expect(fake.stats(numberA.phoneNumberId).errors).toMatchObject({ 131048: 3 });
  });

  it('holds nothing for an unlimited portfolio, or when told not to', async () => {
    fake = await startFakeGraph({ numbers: [numberA], clock: () => now, pairLimit: false });
    fake.setMetaFields(numberA.phoneNumberId, { messagingLimit: 'TIER_UNLIMITED' });
    for (let n = 0; n < 5; n += 1) expect(await send(numberA, template, n)).toBe(200);
    await fake.close();
    fake = await startFakeGraph({ numbers: [numberA], enforceMessagingLimits: false, pairLimit: false });
    fake.setMetaFields(numberA.phoneNumberId, { messagingLimit: '1' });
    for (let n = 0; n < 3; n += 1) expect(await send(numberA, template, n)).toBe(200);
  });
});
