import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startWakeableTask } from './wakeable-task.js';

describe('startWakeableTask', () => {
  it('runs at start, on every poll, and when woken; wakes during a run become one more run, never an overlapping one', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    let finish: () => void = () => undefined;
    const task = startWakeableTask({
      pollMs: 1000,
      minGapMs: 1,
      run: async () => {
        runs += 1;
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise<void>((resolve) => (finish = resolve));
        concurrent -= 1;
      },
    });
    await expect.poll(() => runs).toBe(1);
    for (let i = 0; i < 10; i += 1) task.wake(); // during the first run
    finish();
    await expect.poll(() => runs).toBe(2);
    finish();
    await sleep(300);
    expect(runs).toBe(2); // one more run for all ten wakes
    await expect.poll(() => runs, { timeout: 3000 }).toBe(3); // the poll
    finish();
    await sleep(20);
    task.wake();
    await expect.poll(() => runs).toBe(4);
    finish();
    await task.stop();
    task.wake();
    await sleep(1200);
    expect(runs).toBe(4);
    expect(maxConcurrent).toBe(1);
  });

  it('runs again soon while a run says more work is waiting, and survives a run that throws', async () => {
    let runs = 0;
    const task = startWakeableTask({
      pollMs: 10_000,
      minGapMs: 1,
      run: async () => {
        runs += 1;
        if (runs === 2) throw new Error('boom');
        return runs < 5;
      },
    });
    // 1 (more), 2 (throws: back to polling)
    await expect.poll(() => runs).toBe(2);
    await sleep(200);
    expect(runs).toBe(2);
    task.wake();
    await expect.poll(() => runs).toBe(5);
    await sleep(200);
    expect(runs).toBe(5);
    await task.stop();
  });

  it('turns wakes within the gap after a run into one run at the end of the gap', async () => {
    const starts: number[] = [];
    const ends: number[] = [];
    const task = startWakeableTask({
      pollMs: 10_000,
      minGapMs: 300,
      run: async () => {
        starts.push(performance.now());
        await sleep(5);
        ends.push(performance.now());
      },
    });
    await expect.poll(() => ends.length).toBe(1);
    for (let i = 0; i < 5; i += 1) {
      task.wake();
      await sleep(20);
    }
    expect(starts).toHaveLength(1); // still inside the gap
    await expect.poll(() => starts.length, { timeout: 2000 }).toBe(2);
    await sleep(400);
    expect(starts).toHaveLength(2); // five wakes, one run
    expect(starts[1]! - ends[0]!).toBeGreaterThanOrEqual(299);
    await task.stop();
  });
});
