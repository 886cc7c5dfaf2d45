import { GraphClient, GraphNumberView, parseGraphApiConfig } from '@prestabot/adapters-meta';
import { expectErr, expectOk } from '@prestabot/application/testing';
import type { PhoneNumberId, WabaId } from '@prestabot/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGraph, startFakeGraph } from './fake-graph.ts';

const number = {
  phoneNumberId: '106540352242922' as PhoneNumberId,
  wabaId: '102290129340398' as WabaId,
  accessToken: 'EAAG-number-a-token',
};

// Pins the adapter's reading of Meta's phone number and WABA fields against what the fake serves.
describe('GraphNumberView → fake Graph', () => {
  let fake: FakeGraph;
  let client: GraphClient;
  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  const start = async () => {
    fake = await startFakeGraph({ numbers: [number] });
    client = new GraphClient(parseGraphApiConfig({ baseUrl: fake.url })._unsafeUnwrap(), {
      requestTimeoutMs: 5000,
    });
    return new GraphNumberView(client);
  };

  it("reads a new portfolio's defaults: 250 a day, green, standard throughput, and the owner business", async () => {
    const view = await expectOk((await start()).read(number, number.accessToken));
    expect(view).toEqual({
      messagingLimit: 250,
      qualityRating: 'GREEN',
      throughputLevel: 'STANDARD',
      nameStatus: 'APPROVED',
      verifiedName: 'PrestaBot Test',
      businessPortfolioId: '7700000000001',
    });
  });

  it.each([
    ['TIER_2K', 2000],
    ['TIER_10K', 10_000],
    ['TIER_100K', 100_000],
    ['TIER_UNLIMITED', 'unlimited'],
  ] as const)('reads the tier %s as %s', async (tier, limit) => {
    const reader = await start();
    fake.setMetaFields(number.phoneNumberId, {
      messagingLimit: tier,
      qualityRating: 'RED',
      throughputLevel: 'HIGH',
      businessPortfolioId: '7700000000042',
    });
    expect(await expectOk(reader.read(number, number.accessToken))).toMatchObject({
      messagingLimit: limit,
      qualityRating: 'RED',
      throughputLevel: 'HIGH',
      businessPortfolioId: '7700000000042',
    });
  });

  it('sets the fields through the control API too', async () => {
    const reader = await start();
    const answer = await fetch(`${fake.url}/_fake/numbers/${number.phoneNumberId}/fields`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messagingLimit: 'TIER_10K', qualityRating: 'YELLOW' }),
    });
    expect(answer.status).toBe(200);
    expect(await expectOk(reader.read(number, number.accessToken))).toMatchObject({
      messagingLimit: 10_000,
      qualityRating: 'YELLOW',
    });
  });

  it('classifies a rejected token like a send (190), and an unknown tier as an answer it cannot use', async () => {
    const reader = await start();
    expect(await expectErr(reader.read(number, 'EAAG-wrong'))).toMatchObject({
      type: 'send_token_invalid',
      code: 190,
    });
    fake.setMetaFields(number.phoneNumberId, { messagingLimit: 'TIER_SOMETHING' });
    expect(await expectErr(reader.read(number, number.accessToken))).toMatchObject({
      type: 'send_retryable',
      title: expect.stringContaining('TIER_SOMETHING'),
    });
  });
});
