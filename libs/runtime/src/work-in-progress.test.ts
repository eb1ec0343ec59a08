import { describe, expect, it } from 'vitest';
import { WorkInProgress } from './work-in-progress.js';

describe('WorkInProgress', () => {
  it('counts what has begun and not ended; ending twice counts once', () => {
    const work = new WorkInProgress();
    const first = work.begin();
    const second = work.begin();
    expect(work.count).toBe(2);
    first();
    first();
    expect(work.count).toBe(1);
    second();
    expect(work.count).toBe(0);
  });

  it('tracks an async function while it runs, also when it throws', async () => {
    const work = new WorkInProgress();
    let during = -1;
    await work.track(async () => {
      during = work.count;
    });
    expect(during).toBe(1);
    await expect(work.track(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(work.count).toBe(0);
  });
});
