import { describe, expect, it } from 'vitest';
import { tally } from './tally.ts';
import { verdictOf } from './verdict.ts';

const senders = ['56900000000', '56900000001', '56900000002'];

const base = {
  scenario: 'crashes',
  senders,
  firstPostAt: [1000, 2000, 3000],
  acknowledgedAt: [1010, 2010, 3010],
  byStatus: new Map([[200, 3]]),
};

describe('tally', () => {
  it('counts a message with no reply to its sender as lost, every reply past the first as a duplicate', () => {
    const figures = tally({
      ...base,
      replies: [
        { recipient: '+56900000000', receivedAt: 1500 },
        { recipient: '+56900000000', receivedAt: 40_000 },
        { recipient: '56900000001', receivedAt: 2100 },
      ],
    });
    expect(figures).toMatchObject({ messages: 3, lost: 1, duplicates: 1, p50DelayMs: 100, p99DelayMs: 500 });
  });

  it('does not count a message that was never acknowledged as lost: Meta would still be retrying it', () => {
    const figures = tally({
      ...base,
      acknowledgedAt: [1010, 2010, 0],
      replies: senders.slice(0, 2).map((recipient) => ({ recipient, receivedAt: 5000 })),
    });
    expect(figures.lost).toBe(0);
  });

  it('measures recovery from the last fault to the first answer of a message delivered after it', () => {
    const figures = tally({
      ...base,
      faultTimes: [500, 1800],
      replies: [
        { recipient: senders[0]!, receivedAt: 1200 },
        { recipient: senders[1]!, receivedAt: 4800 },
        { recipient: senders[2]!, receivedAt: 3100 },
      ],
    });
    expect(figures.recoveryMs).toBe(3100 - 1800);
  });

  it('counts 5xx answers and deliveries that got none apart', () => {
    const figures = tally({
      ...base,
      replies: [],
      byStatus: new Map([
        [200, 3],
        [503, 4],
        [500, 1],
        [0, 2],
      ]),
    });
    expect(figures).toMatchObject({ serverErrors: 5, refused: 2 });
  });
});

describe('verdict', () => {
  const passing = tally({ ...base, replies: senders.map((recipient) => ({ recipient, receivedAt: 5000 })) });

  it('passes a run with nothing lost, no 5xx and no duplicates', () => {
    expect(verdictOf(passing)).toEqual([]);
  });

  it('fails a lost message, a 5xx to a signed payload, and duplicates past 0.1 %', () => {
    expect(verdictOf({ ...passing, lost: 1 })).toEqual(['1 lost']);
    expect(verdictOf({ ...passing, fuzzServerErrors: 2 })).toEqual(['2 5xx to fuzzed payloads']);
    expect(verdictOf({ ...passing, serverErrors: 1 })).toEqual(['1 5xx to signed messages']);
    expect(verdictOf({ ...passing, duplicates: 1 })).toHaveLength(1);
    expect(verdictOf({ ...passing, messages: 2000, duplicates: 2 })).toEqual([]);
  });

  it('accepts 503s while the database restarts, the answer that makes Meta retry', () => {
    expect(verdictOf({ ...passing, scenario: 'postgres-restart', serverErrors: 11 })).toEqual([]);
  });
});
