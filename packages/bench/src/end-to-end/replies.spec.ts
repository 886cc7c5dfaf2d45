import { describe, expect, it } from 'vitest';
import { messagesOfSender, runFixture, senderOf } from './fixture.ts';
import { matchReplies } from './sampling.ts';

const repliedAt = (
  replies: Record<string, number[]>,
  fixture: ReturnType<typeof runFixture>,
  total: number,
  acknowledged?: (index: number) => boolean,
) => {
  const replyAt = new Float64Array(total).fill(Number.NaN);
  const unmatched = matchReplies(
    new Map(Object.entries(replies)),
    messagesOfSender(fixture, total, acknowledged),
    replyAt,
  );
  return { replyAt: [...replyAt], unmatched };
};

describe('matching the replies the fake accepted to the messages they answer', () => {
  it('gives each first contact its first reply', () => {
    const fixture = runFixture(2);
    const phone = (index: number) => `+${senderOf(fixture, index)}`;
    expect(
      repliedAt({ [phone(0)]: [40, 15], [phone(2)]: [30], '+56912': [5], [phone(9)]: [7] }, fixture, 3),
    ).toEqual({ replyAt: [15, Number.NaN, 30], unmatched: 2 });
  });

  it("answers a returning contact's messages in order, whatever order the replies were listed in", () => {
    const fixture = runFixture(2, 2);
    const phone = (index: number) => `+${senderOf(fixture, index)}`;
    expect(phone(0)).toBe(phone(4));
    // Sender 0 wrote messages 0, 2 and 4; sender 1 messages 1, 3 and 5, whose last is not answered yet.
    expect(repliedAt({ [phone(0)]: [250, 50, 150], [phone(1)]: [160, 60] }, fixture, 6)).toEqual({
      replyAt: [50, 60, 150, 160, 250, Number.NaN],
      unmatched: 0,
    });
  });

  it('skips a message that was not acknowledged: it was stored nowhere and gets no reply', () => {
    const fixture = runFixture(1, 1);
    const phone = `+${senderOf(fixture, 0)}`;
    // Message 1 got a 503; the replies at 90 and 170 answer messages 2 and 3.
    expect(repliedAt({ [phone]: [170, 20, 90] }, fixture, 4, (index) => index !== 1)).toEqual({
      replyAt: [20, Number.NaN, 90, 170],
      unmatched: 0,
    });
  });
});
