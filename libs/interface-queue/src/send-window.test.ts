import { describe, expect, it } from 'vitest';
import { createSendWindow } from './send-window.js';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake pair of interface queues: sends add to the depth, `drain(n)` is the interface taking n. */
function fakeQueues() {
  let depth = 0;
  return {
    readDepth: async () => depth,
    send: () => void depth++,
    drain: (n: number) => void (depth = Math.max(0, depth - n)),
    depth: () => depth,
  };
}

describe('createSendWindow', () => {
  it('lets sends through while the queues hold fewer than maxDepth, then holds them until the interface takes some', async () => {
    const queues = fakeQueues();
    const window = createSendWindow({ readDepth: queues.readDepth, maxDepth: 10, sampleMs: 1, onError: () => undefined });
    let sent = 0;
    const sender = async () => {
      for (;;) {
        const done = await window.acquire();
        await tick(1); // the send's round trip
        queues.send();
        done();
        sent++;
        if (sent >= 40) return;
      }
    };
    const senders = Promise.all([sender(), sender(), sender()]);
    await tick(30);
    expect(queues.depth()).toBeLessThanOrEqual(10);
    expect(window.state().waiting).toBeGreaterThan(0);
    while (sent < 40) {
      queues.drain(3);
      await tick(2);
      expect(queues.depth()).toBeLessThanOrEqual(10);
    }
    window.stop();
    await senders;
  });

  it('counts its own sends between readings, so one process never overshoots', async () => {
    // the first reading is still on its way: only the window's own count keeps it at 5
    const window = createSendWindow({ readDepth: () => tick(100).then(() => 0), maxDepth: 5, sampleMs: 1_000, onError: () => undefined });
    const admitted: number[] = [];
    for (let i = 0; i < 8; i++) void window.acquire().then(() => admitted.push(i)); // sends never finish
    await tick();
    expect(admitted).toEqual([0, 1, 2, 3, 4]);
    expect(window.state()).toEqual({ estimatedDepth: 5, waiting: 3 });
    window.stop();
    await tick();
    expect(admitted).toHaveLength(8);
  });

  it('lets the waiting sends through when the depth cannot be read (they meet the outage themselves)', async () => {
    let fail = false;
    const errors: unknown[] = [];
    const window = createSendWindow({
      readDepth: async () => {
        if (fail) throw new Error('queue service down');
        return 100;
      },
      maxDepth: 2,
      sampleMs: 1,
      onError: (err) => errors.push(err),
    });
    (await window.acquire())(); // admitted before the first reading
    await tick(10);
    let admitted = false;
    void window.acquire().then(() => (admitted = true));
    await tick(10);
    expect(admitted).toBe(false);
    fail = true;
    await tick(10);
    expect(admitted).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    window.stop();
  });

  it('reads the depth only from half the window on, and nothing while nothing is sent', async () => {
    let readings = 0;
    const window = createSendWindow({ readDepth: async () => (readings++, 0), maxDepth: 10, sampleMs: 1, onError: () => undefined });
    for (let i = 0; i < 4; i++) (await window.acquire())();
    await tick(20);
    expect(readings).toBe(0); // 4 sends, window of 10: nothing to know yet
    (await window.acquire())();
    await tick(20);
    expect(readings).toBe(1); // the fifth reached half: one reading (0 messages) and quiet again
    // the fifth send finished after that reading began: it may not be in it, so it still counts
    expect(window.state()).toEqual({ estimatedDepth: 1, waiting: 0 });
    await tick(20);
    expect(readings).toBe(1);
    window.stop();
  });
});
