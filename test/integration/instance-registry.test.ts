import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import {
  createProducerConnection,
  instanceIdentity,
  instanceIndexKey,
  readInstances,
  startInstanceHeartbeat,
  type InstanceHeartbeat,
  type InstanceIdentity,
  type RedisClient,
} from '@linebacker/queues';
import { createLogger } from '@linebacker/runtime';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { testQueuePrefix, testRedisUrl } from '../support/test-database.js';

/*
 * The instance registry of SPEC §9 on a real Redis: instances announce themselves every heartbeat,
 * a reader sees every live instance of every host, one that stops beating is gone after 3 missed
 * beats, a graceful stop leaves at once, and a Redis outage is logged once and never thrown.
 */

const HEARTBEAT_MS = 200;
let redis: Redis;
let prefix: string;
const heartbeats: InstanceHeartbeat[] = [];
const connections: RedisClient[] = [];

/** A pino logger whose lines the test can read. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string }[] } {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger('registry-test', 'info', { destination }),
    lines: () => text.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string }),
  };
}

function beat(identity: InstanceIdentity, options: { redisUrl?: string; activeJobs?: () => number; logger?: ReturnType<typeof createLogger> } = {}) {
  const connection = createProducerConnection(loadConfig({ REDIS_URL: options.redisUrl ?? testRedisUrl() }).redis, 'registry-test');
  connection.on('error', () => {});
  connections.push(connection);
  const heartbeat = startInstanceHeartbeat({
    redis: connection,
    prefix,
    identity,
    heartbeatMs: HEARTBEAT_MS,
    activeJobs: options.activeJobs ?? (() => 0),
    log: options.logger ?? createLogger('registry-test', 'silent'),
  });
  heartbeats.push(heartbeat);
  return heartbeat;
}

const identity = (host: string, app: string, pid: number): InstanceIdentity => ({ ...instanceIdentity(app, host), pid });

beforeAll(() => {
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  prefix = testQueuePrefix();
});

afterAll(async () => {
  await Promise.allSettled(heartbeats.map((heartbeat) => heartbeat.stop()));
  for (const connection of connections) connection.disconnect();
  redis?.disconnect();
});

describe('the instance registry (SPEC §9)', () => {
  it('shows every live instance of every host with what it reports about itself', async () => {
    let active = 3;
    beat(identity('host-a', 'check-allowed', 101), { activeJobs: () => active });
    beat(identity('host-a', 'http-receiver', 102));
    beat(identity('host-b', 'check-allowed', 201));

    await expect.poll(async () => (await readInstances(redis, prefix)).length, { timeout: 5000 }).toBe(3);
    const instances = await readInstances(redis, prefix);
    expect(instances.map((i) => [i.host, i.app, i.pid])).toEqual([
      ['host-a', 'check-allowed', 101],
      ['host-a', 'http-receiver', 102],
      ['host-b', 'check-allowed', 201],
    ]);
    const first = instances[0]!;
    expect(first).toMatchObject({ version: '0.1.0', activeJobs: 3, heartbeatMs: HEARTBEAT_MS });
    expect(first.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(first.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(Date.parse(first.startedAt)).toBeLessThan(Date.parse(first.lastSeenAt));
    // expires 3 beats after the latest one, as this reader's clock sees it
    const expiresIn = Date.parse(first.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(HEARTBEAT_MS);
    expect(expiresIn).toBeLessThanOrEqual(3 * HEARTBEAT_MS);

    // each beat reports the current figures
    active = 0;
    const before = Date.parse(first.lastSeenAt);
    await expect
      .poll(async () => (await readInstances(redis, prefix)).find((i) => i.pid === 101), { timeout: 2000 })
      .toMatchObject({ activeJobs: 0 });
    expect(Date.parse((await readInstances(redis, prefix)).find((i) => i.pid === 101)!.lastSeenAt)).toBeGreaterThan(before);

    // one index entry per instance: the reader lists the index, it never scans the keyspace
    expect((await redis.zrange(instanceIndexKey(prefix), 0, -1)).sort()).toEqual(['host-a:check-allowed:101', 'host-a:http-receiver:102', 'host-b:check-allowed:201']);
  });

  it('removes an instance at once on a graceful stop', async () => {
    const leaving = beat(identity('host-c', 'receive-status', 301));
    await expect.poll(async () => (await readInstances(redis, prefix)).some((i) => i.host === 'host-c'), { timeout: 5000 }).toBe(true);
    await leaving.stop();
    expect((await readInstances(redis, prefix)).some((i) => i.host === 'host-c')).toBe(false);
    expect(await redis.zscore(instanceIndexKey(prefix), 'host-c:receive-status:301')).toBeNull();
  });

  it('forgets an instance that stopped beating after 3 missed beats, logs a Redis outage once and announces again after it', async () => {
    const target = new URL(testRedisUrl());
    const proxy: TcpProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    try {
      const proxied = new URL(testRedisUrl());
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const { logger, lines } = capturedLogger();
      beat(identity('host-d', 'send-to-interface', 401), { redisUrl: proxied.toString(), logger });
      await expect.poll(async () => (await readInstances(redis, prefix)).some((i) => i.host === 'host-d'), { timeout: 5000 }).toBe(true);

      // Redis unreachable for this instance: it keeps trying every beat without throwing, and is
      // gone from the registry once 3 beats are missed (what a dead host looks like)
      await proxy.cut();
      const cutAt = Date.now();
      await expect.poll(async () => (await readInstances(redis, prefix)).some((i) => i.host === 'host-d'), { timeout: 5000, interval: 20 }).toBe(false);
      const goneAfter = Date.now() - cutAt;
      expect(goneAfter).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 250);
      expect(goneAfter).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS - 50);
      await sleep(6 * HEARTBEAT_MS);
      const warnings = lines().filter((line) => line.level === 40);
      expect(warnings.map((line) => line.msg)).toEqual([expect.stringContaining('could not announce this instance')]);

      await proxy.restore();
      await expect.poll(async () => (await readInstances(redis, prefix)).some((i) => i.host === 'host-d'), { timeout: 10_000 }).toBe(true);
      expect(lines().filter((line) => line.msg === 'announced in the instance registry again')).toHaveLength(1);
      expect(lines().filter((line) => line.level === 40)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});
