import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WakeupPublisher } from './wakeups.js';

/** A stand-in for the Redis connection: counts PUBLISHes. */
function fakeRedis(status = 'ready') {
  const published: string[] = [];
  return {
    published,
    redis: { status, publish: async (channel: string) => void published.push(channel) as unknown as number },
  };
}

describe('WakeupPublisher', () => {
  it('publishes the first wake-up at once and coalesces the next ones into one per interval', async () => {
    const { redis, published } = fakeRedis();
    const publisher = new WakeupPublisher(redis as never, 'p:linebacker:events', 40);
    publisher.notify();
    expect(published).toEqual(['p:linebacker:events']);
    for (let i = 0; i < 100; i += 1) publisher.notify();
    expect(published).toHaveLength(1);
    await sleep(60);
    expect(published).toHaveLength(2);
    await sleep(60);
    expect(published).toHaveLength(2);
  });

  it('publishes a wake-up still waiting when closed, and drops wake-ups while Redis is not ready', async () => {
    const { redis, published } = fakeRedis();
    const publisher = new WakeupPublisher(redis as never, 'c', 1000);
    publisher.notify();
    publisher.notify();
    publisher.close();
    expect(published).toHaveLength(2);
    const down = fakeRedis('reconnecting');
    new WakeupPublisher(down.redis as never, 'c').notify();
    expect(down.published).toEqual([]);
  });
});
