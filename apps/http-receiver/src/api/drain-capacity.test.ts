import { describe, expect, it } from 'vitest';
import type { QueueStatistics } from '@linebacker/queues';
import { DrainCapacity } from './drain-capacity.js';

const START = Date.parse('2026-12-01T12:00:00Z');
const BUSY = 1_000;

const waiting = (jobs: number): QueueStatistics => ({ waiting: jobs, active: 0, delayed: 0, failed: 0, completed: 0, oldestWaitingAgeSeconds: null });

/** A snapshot `seconds` after START: `finished` requests out of the pipeline (over the three final statuses), `backlog` jobs waiting. */
const snapshot = (seconds: number, finished: number, backlog: number) => ({
  generatedAt: new Date(START + seconds * 1000).toISOString(),
  queues: { created: waiting(backlog - Math.floor(backlog / 2)), allowed: waiting(Math.floor(backlog / 2)) },
  requests: {
    byStatus: {
      Received: 7,
      Allowed: 7,
      Sent: 7,
      Succeeded: finished - 2 * Math.floor(finished / 4),
      Failed: Math.floor(finished / 4),
      NotAllowed: Math.floor(finished / 4),
    },
    oldestNonTerminalAgeSeconds: null,
  },
});

/** One snapshot a second from `from` to `to` seconds, `perSecond` requests finishing a second from `finished` on; returns the total. */
function feed(capacity: DrainCapacity, seconds: [number, number], perSecond: number, finished: number, backlog: number): number {
  let total = finished;
  for (let second = seconds[0]; second <= seconds[1]; second += 1) {
    capacity.observe(snapshot(second, total, backlog));
    total += perSecond;
  }
  return total;
}

describe('DrainCapacity', () => {
  it('is the rate requests finish at while a backlog drains, known once it has drained one for 10 s', () => {
    const capacity = new DrainCapacity(BUSY);
    feed(capacity, [0, 9], 50, 0, 5_000);
    expect(capacity.perSecond()).toBeUndefined();
    feed(capacity, [10, 10], 50, 500, 5_000);
    expect(capacity.perSecond()).toBe(50);
  });

  it('is unknown while nothing waits (the pipeline finishes what it is offered) or nothing finishes', () => {
    const light = new DrainCapacity(BUSY);
    feed(light, [0, 60], 30, 0, BUSY - 1);
    expect(light.perSecond()).toBeUndefined();
    const stuck = new DrainCapacity(BUSY);
    feed(stuck, [0, 60], 0, 1_000, 5_000);
    expect(stuck.perSecond()).toBeUndefined();
  });

  it('keeps the highest rate of the last 10 minutes while the pipeline idles, then forgets it', () => {
    const capacity = new DrainCapacity(BUSY);
    let finished = feed(capacity, [0, 60], 120, 0, 5_000);
    finished = feed(capacity, [61, 120], 30, finished, 2_000);
    expect(capacity.perSecond()).toBe(120);
    finished = feed(capacity, [121, 600], 0, finished, 0);
    expect(capacity.perSecond()).toBe(120);
    feed(capacity, [601, 730], 0, finished, 0); // ten minutes after the backlog was last drained
    expect(capacity.perSecond()).toBeUndefined();
  });

  it('counts a late success after Failed once, and takes each snapshot once', () => {
    const capacity = new DrainCapacity(BUSY);
    feed(capacity, [0, 20], 10, 0, 5_000);
    const moved = snapshot(21, 210, 5_000);
    moved.requests.byStatus.Failed -= 1;
    moved.requests.byStatus.Succeeded += 1;
    capacity.observe(moved);
    capacity.observe(moved);
    capacity.observe({ ...snapshot(22, 50_000, 5_000), requests: null });
    expect(capacity.perSecond()).toBe(10);
  });
});
