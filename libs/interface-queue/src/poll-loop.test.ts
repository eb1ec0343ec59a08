import { describe, expect, it } from 'vitest';
import { nextPause, startPollLoop } from './poll-loop.js';

const options = { maxIdleMs: 1000, minIdleMs: 20, fullBatch: 32, batchWaitMs: 50, maxErrorBackoffMs: 5000 };

describe('nextPause', () => {
  it('polls again at once after a full batch', () => {
    expect(nextPause(32, 0, options)).toBe(0);
  });

  it('waits batchWaitMs after a partial batch, so the next receive is fuller', () => {
    expect(nextPause(1, 0, options)).toBe(50);
    expect(nextPause(31, 0, options)).toBe(50);
  });

  it('without fullBatch, any messages mean poll again at once (the old behaviour)', () => {
    expect(nextPause(1, 0, { maxIdleMs: 1000 })).toBe(0);
  });

  const highest = () => 1; // the top of each jittered pause

  it('backs off from minIdleMs to maxIdleMs while the queue is empty', () => {
    const pauses = [1, 2, 3, 4, 5, 6].map((streak) => nextPause(0, streak, options, highest));
    expect(pauses).toEqual([20, 60, 180, 540, 1000, 1000]);
  });

  it('backs off from 100 ms to maxErrorBackoffMs after failures', () => {
    const pauses = [1, 2, 3, 4, 5, 6].map((streak) => nextPause(-1, streak, options, highest));
    expect(pauses).toEqual([100, 300, 900, 2700, 5000, 5000]);
  });

  it('jitters each pause between half and all of it', () => {
    expect(nextPause(0, 3, options, () => 0)).toBe(90);
  });
});

describe('startPollLoop', () => {
  /** A poll that answers from a fixed backlog in batches of up to 32, taking `ms` per call. */
  function backlogPoll(backlog: number, ms: number) {
    let left = backlog;
    let inProgress = 0;
    let mostAtOnce = 0;
    let calls = 0;
    const poll = async () => {
      calls++;
      inProgress++;
      mostAtOnce = Math.max(mostAtOnce, inProgress);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inProgress--;
      const taken = Math.min(32, left);
      left -= taken;
      return taken;
    };
    return { poll, left: () => left, mostAtOnce: () => mostAtOnce, calls: () => calls };
  }
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('adds pollers up to `concurrency` while full batches come, and goes back to one when the backlog is gone', async () => {
    const queue = backlogPoll(32 * 40, 10);
    const loop = startPollLoop({ poll: queue.poll, maxIdleMs: 50, fullBatch: 32, concurrency: 4, onError: () => undefined });
    await until(() => queue.left() === 0);
    expect(queue.mostAtOnce()).toBe(4);
    await until(() => loop.pollers === 1);
    await loop.stop();
    expect(loop.pollers).toBe(0);
  });

  it('keeps one poll at a time by default', async () => {
    const queue = backlogPoll(32 * 10, 5);
    const loop = startPollLoop({ poll: queue.poll, maxIdleMs: 50, fullBatch: 32, onError: () => undefined });
    await until(() => queue.left() === 0);
    await loop.stop();
    expect(queue.mostAtOnce()).toBe(1);
  });

  it('reports failures and goes on polling', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const loop = startPollLoop({
      poll: async () => {
        calls++;
        if (calls <= 2) throw new Error(`down ${calls}`);
        return 0;
      },
      maxIdleMs: 10,
      maxErrorBackoffMs: 10,
      onError: (err) => errors.push(err),
    });
    await until(() => calls >= 4);
    await loop.stop();
    expect(errors.map((err) => (err as Error).message)).toEqual(['down 1', 'down 2']);
  });
});
