import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { WakeupPublisher } from './wakeups.js';

/** A stand-in for the Redis connection: counts PUBLISHes; each reaches `receivers.count` subscribers. */
function fakeRedis(status = 'ready') {
  const published: string[] = [];
  const receivers = { count: 1 };
  return {
    published,
    receivers,
    redis: {
      status,
      publish: async (channel: string) => {
        published.push(channel);
        return receivers.count;
      },
    },
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

  it('after a PUBLISH that reached nobody, publishes at most once per unheard interval, until one reaches a subscriber', async () => {
    const { redis, published, receivers } = fakeRedis();
    receivers.count = 0;
    const publisher = new WakeupPublisher(redis as never, 'c', 20, 800);
    publisher.notify();
    await sleep(10); // the PUBLISH's answer (0 receivers) has come back
    for (let i = 0; i < 10; i += 1) {
      publisher.notify();
      await sleep(10);
    }
    expect(published).toHaveLength(1); // ~100 ms of wake-ups, nobody listening: no second PUBLISH yet
    receivers.count = 1;
    await sleep(900); // the one waiting goes out 800 ms after the first, and reaches a subscriber
    expect(published).toHaveLength(2);
    publisher.notify();
    await sleep(40);
    publisher.notify();
    await sleep(40);
    expect(published).toHaveLength(4); // back to one per 20 ms
  });

  it('on a Redis Cluster (where PUBLISH counts one node only) keeps the cadence whatever PUBLISH answers', async () => {
    const { redis, published, receivers } = fakeRedis();
    receivers.count = 0;
    const onCluster = Object.assign(Object.create(Cluster.prototype) as object, redis);
    const publisher = new WakeupPublisher(onCluster as never, 'c', 20);
    publisher.notify();
    await sleep(40);
    publisher.notify();
    await sleep(40);
    expect(published).toHaveLength(2);
  });
});
