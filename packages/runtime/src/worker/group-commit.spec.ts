import type { StorageError } from '@prestabot/application';
import { ManualClock, ManualTimers } from '@prestabot/application/testing';
import { ok, type Result, ResultAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { GroupCommit, type GroupCommitOptions, type Urgency } from './group-commit.ts';

/** A group commit whose writes answer each request with itself, once `release` lets the oldest one finish. */
const setup = (options: Omit<GroupCommitOptions<string>, 'maxBatch'>) => {
  const timers = new ManualTimers(new ManualClock());
  const writes: string[][] = [];
  const held: (() => void)[] = [];
  const commit = new GroupCommit<string, string>(
    (requests) => {
      writes.push([...requests]);
      return new ResultAsync(
        new Promise<Result<readonly string[], StorageError>>((resolve) =>
          held.push(() => resolve(ok(requests))),
        ),
      );
    },
    { maxBatch: 100, ...options },
    timers,
  );
  const answers: string[] = [];
  const submit = (request: string, urgency?: Urgency) => {
    void commit.submit(request, urgency).map((answer) => answers.push(answer));
  };
  return { timers, writes, answers, submit, commit, release: () => held.shift()?.() };
};

describe('GroupCommit', () => {
  it('writes a lone request on the next tick when it has no linger', async () => {
    const { timers, writes, submit } = setup({ maxInFlight: 1 });
    submit('a');
    await timers.runFor(0);
    expect(writes).toEqual([['a']]);
  });

  it('holds a request that finds nothing being written for the linger, and writes what joined it together', async () => {
    const { timers, writes, submit } = setup({ maxInFlight: 2, lingerMs: 20 });
    submit('a');
    await timers.runFor(10);
    submit('b');
    await timers.runFor(9);
    expect(writes).toEqual([]);
    await timers.runFor(1);
    expect(writes).toEqual([['a', 'b']]);
  });

  it('writes a request that goes now on the next tick, with every request lingering then', async () => {
    const { timers, writes, answers, submit, release } = setup({ maxInFlight: 2, lingerMs: 20 });
    submit('a');
    await timers.runFor(5);
    submit('b');
    await timers.runFor(5);
    submit('now', 'now');
    await timers.runFor(0);
    expect(writes).toEqual([['a', 'b', 'now']]);
    submit('c');
    await timers.runFor(19);
    expect(writes).toHaveLength(1);
    await timers.runFor(1);
    expect(writes).toEqual([['a', 'b', 'now'], ['c']]);
    release();
    release();
    await timers.runFor(0);
    expect(answers).toEqual(['a', 'b', 'now', 'c']);
  });

  it('keeps a request that found room waiting for its linger when a batch being written is done', async () => {
    const { timers, writes, submit, release } = setup({ maxInFlight: 2, lingerMs: 20 });
    submit('now', 'now');
    await timers.runFor(0);
    submit('a');
    release();
    await timers.runFor(19);
    expect(writes).toEqual([['now']]);
    await timers.runFor(1);
    expect(writes).toEqual([['now'], ['a']]);
  });

  it('hands waiting requests to another write, which settles them or gives them back to go at once', async () => {
    const { timers, writes, answers, submit, release, commit } = setup({ maxInFlight: 1, lingerMs: 20 });
    submit('a');
    submit('b');
    submit('c');
    await timers.runFor(5);
    const taken = commit.take(2);
    expect(taken?.requests).toEqual(['a', 'b']);
    taken?.settle(['A', 'B']);
    await timers.runFor(0);
    expect(answers).toEqual(['A', 'B']);
    expect(() => taken?.giveBack()).toThrow();

    const more = commit.take(5);
    expect(more?.requests).toEqual(['c']);
    expect(commit.take(5)).toBeUndefined();
    // What comes after everything waiting was taken lingers its own time, not what is left of theirs.
    submit('d');
    await timers.runFor(19);
    expect(writes).toEqual([]);
    await timers.runFor(1);
    expect(writes).toEqual([['d']]);
    release();
    // Given back after its linger was over: written at once, not after a second linger.
    more?.giveBack();
    await timers.runFor(0);
    expect(writes).toEqual([['d'], ['c']]);
    release();
    await timers.runFor(0);
    expect(answers).toEqual(['A', 'B', 'd', 'c']);
  });

  it('writes what waited for a batch being written as soon as that batch is done, without a second linger', async () => {
    const { timers, writes, answers, submit, release } = setup({ maxInFlight: 1, lingerMs: 20 });
    submit('a');
    await timers.runFor(20);
    submit('b');
    submit('c');
    await timers.runFor(50);
    expect(writes).toEqual([['a']]);
    release();
    await timers.runFor(0);
    expect(writes).toEqual([['a'], ['b', 'c']]);
    release();
    await timers.runFor(0);
    expect(answers).toEqual(['a', 'b', 'c']);
  });

  describe('with keys (a request `m1:sent` is about message m1)', () => {
    const aboutMessage = (request: string) => [request.split(':')[0]!];

    it('holds a request whose key a write under way holds until that write is done; others go beside it', async () => {
      const { timers, writes, answers, submit, release } = setup({ maxInFlight: 2, keysOf: aboutMessage });
      submit('m1:sent');
      await timers.runFor(0);
      submit('m1:delivered');
      submit('m2:sent');
      await timers.runFor(0);
      expect(writes).toEqual([['m1:sent'], ['m2:sent']]);
      release();
      await timers.runFor(0);
      expect(writes).toEqual([['m1:sent'], ['m2:sent'], ['m1:delivered']]);
      release();
      release();
      await timers.runFor(0);
      expect(answers).toEqual(['m1:sent', 'm2:sent', 'm1:delivered']);
    });

    it('writes requests with the same key together when they wait together', async () => {
      const { timers, writes, submit } = setup({ maxInFlight: 2, lingerMs: 20, keysOf: aboutMessage });
      submit('m1:sent');
      submit('m1:delivered');
      await timers.runFor(20);
      expect(writes).toEqual([['m1:sent', 'm1:delivered']]);
    });

    it('hands another write only requests whose keys no write under way holds, and frees its keys when it is done', async () => {
      const { timers, writes, submit, release, commit } = setup({ maxInFlight: 1, keysOf: aboutMessage });
      submit('m1:sent');
      await timers.runFor(0);
      submit('m1:delivered');
      submit('m2:sent');
      const taken = commit.take(10);
      expect(taken?.requests).toEqual(['m2:sent']);
      // Its key is held while the other write has it.
      submit('m2:delivered');
      release();
      await timers.runFor(0);
      expect(writes).toEqual([['m1:sent'], ['m1:delivered']]);
      release();
      taken?.settle(['M2:sent']);
      await timers.runFor(0);
      expect(writes).toEqual([['m1:sent'], ['m1:delivered'], ['m2:delivered']]);
    });
  });
});
