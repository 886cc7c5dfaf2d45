import { describe, expect, it } from 'vitest';
import { fuzzPayloads, mutatedWebhook, seededRandom } from './fuzz.ts';

describe('fuzzed webhooks', () => {
  it('are the same for the same seed, so a failing run can be replayed', () => {
    const first = Array.from({ length: 50 }, (_, index) => mutatedWebhook('1099', index, seededRandom(7)));
    const again = Array.from({ length: 50 }, (_, index) => mutatedWebhook('1099', index, seededRandom(7)));
    expect(again).toEqual(first);
  });

  it('differ from the valid webhook they start from, and only some still parse as JSON', () => {
    const random = seededRandom(11);
    const bodies = Array.from({ length: 300 }, (_, index) =>
      mutatedWebhook('1099', index, random).toString(),
    );
    const parses = bodies.filter((body) => {
      try {
        JSON.parse(body);
        return true;
      } catch {
        return false;
      }
    });
    expect(parses.length).toBeGreaterThan(200);
    expect(parses.length).toBeLessThan(300);
    expect(new Set(bodies).size).toBeGreaterThan(250);
  });

  it('sign the mutated ones and leave the junk unsigned or wrongly signed', async () => {
    const payloads = await fuzzPayloads(['1099'], 'secret', { signed: 20, unsigned: 20 }, seededRandom(3));
    expect(
      payloads
        .filter((payload) => payload.signed)
        .every((payload) => /^sha256=[0-9a-f]{64}$/.test(payload.signature ?? '')),
    ).toBe(true);
    expect(payloads.filter((payload) => !payload.signed)).toHaveLength(20);
  });
});
