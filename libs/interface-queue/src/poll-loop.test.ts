import { describe, expect, it } from 'vitest';
import { nextPause } from './poll-loop.js';

const options = { maxIdleMs: 1000, minIdleMs: 20, fullBatch: 32, batchWaitMs: 50, maxErrorBackoffMs: 5000 };

describe('nextPause', () => {
  it('polls again at once after a full batch', () => {
    expect(nextPause(32, 0, options)).toBe(0);
  });

  it('waits batchWaitMs after a partial batch, so the next receive is fuller', () => {
    expect(nextPause(1, 0, options)).toBe(50);
    expect(nextPause(31, 400, options)).toBe(50);
  });

  it('without fullBatch, any messages mean poll again at once (the old behaviour)', () => {
    expect(nextPause(1, 0, { maxIdleMs: 1000 })).toBe(0);
  });

  it('backs off from minIdleMs to maxIdleMs while the queue is empty', () => {
    const pauses = [0];
    for (let i = 0; i < 8; i++) pauses.push(nextPause(0, pauses.at(-1)!, options));
    expect(pauses).toEqual([0, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  });

  it('backs off from 100 ms to maxErrorBackoffMs after failures', () => {
    const pauses = [0];
    for (let i = 0; i < 8; i++) pauses.push(nextPause(-1, pauses.at(-1)!, options));
    expect(pauses).toEqual([0, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });
});
