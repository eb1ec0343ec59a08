import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { createProducerConnection, instanceIdentity, startInstanceHeartbeat, type InstanceHeartbeat, type RedisClient } from '@linebacker/queues';
import { createLogger } from '@linebacker/runtime';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * /healthz and /metrics over the instance registry (SPEC §9): instances of several hosts announce
 * themselves in the Redis of a receiver running in this process ("host-a", the leader); /healthz
 * lists them and their hosts, is degraded while an app of the pipeline has no live instance on any
 * host, and drops an instance that stopped beating 3 heartbeats after its last one, even between
 * two snapshots.
 */

const HEARTBEAT_MS = 600;
// a snapshot lives about this long: without dropping at answer time what expired since it was
// taken, a dead instance would stay up to one refresh longer than its 3 heartbeats
const REFRESH_MS = 500;

let db: TestDatabase;
let azurite: Azurite;
let receiver: TestReceiver;
let ops: TestApiClient;
let prefix: string;
const connections: RedisClient[] = [];
const heartbeats: InstanceHeartbeat[] = [];

/** An instance announced from this process, on a Redis connection of its own (cut it to make it "die"). */
function announce(host: string, app: string, pid: number): { heartbeat: InstanceHeartbeat; connection: RedisClient } {
  const connection = createProducerConnection(loadConfig({ REDIS_URL: testRedisUrl() }).redis, `healthz-hosts-${host}`);
  connection.on('error', () => {});
  connections.push(connection);
  const heartbeat = startInstanceHeartbeat({
    redis: connection,
    prefix,
    identity: { ...instanceIdentity(app, host), pid },
    heartbeatMs: HEARTBEAT_MS,
    activeJobs: () => 2,
    log: createLogger('healthz-hosts-test', 'silent'),
  });
  heartbeats.push(heartbeat);
  return { heartbeat, connection };
}

const healthz = async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body;
const pairs = (instances: { host: string; app: string }[]) => instances.map((i) => `${i.host}/${i.app}`);

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = testQueuePrefix();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, prefix, {
    LINEBACKER_HOST_NAME: 'host-a',
    LINEBACKER_PIPELINE_APPS: 'http-receiver,check-allowed',
    LINEBACKER_HEALTH_REFRESH_MS: String(REFRESH_MS),
    LINEBACKER_RECOVERY_DELAY_MS: '100',
  }));
  ops = await createTestApiClient(db.databaseUrl, ['ops:read']);
});

afterAll(async () => {
  await Promise.allSettled(heartbeats.map((heartbeat) => heartbeat.stop()));
  for (const connection of connections) connection.disconnect();
  await receiver?.close();
  await azurite?.stop();
  await db?.drop();
});

describe('/healthz and /metrics over the instance registry (SPEC §9)', () => {
  it('is degraded while an app of the pipeline has no live instance on any host', async () => {
    // (the first snapshot may be taken while the receiver still connects to Redis)
    await expect.poll(async () => (await healthz()).dependencies?.redis.status, { timeout: 10_000 }).toBe('up');
    const body = await healthz();
    expect(body.status).toBe('degraded');
    expect(body.instances).toEqual([]);
    expect(body.hosts).toEqual([]);
    // the dependencies are fine: only the missing apps make it degraded
    for (const dependency of ['postgres', 'redis', 'interfaceQueue']) expect(body.dependencies[dependency], dependency).toMatchObject({ status: 'up' });
  });

  let hostB: RedisClient[] = [];

  it('lists every instance of every host, with a summary per host and the leader, and is ok once each app runs somewhere', async () => {
    announce('host-a', 'http-receiver', process.pid);
    hostB = [announce('host-b', 'check-allowed', 4242).connection, announce('host-b', 'check-allowed', 4243).connection];

    await expect.poll(async () => (await healthz()).status, { timeout: 10_000 }).toBe('ok');
    await expect.poll(async () => (await healthz()).leader, { timeout: 10_000 }).toEqual({ host: 'host-a', pid: process.pid });
    const body = await healthz();
    expect(pairs(body.instances)).toEqual(['host-a/http-receiver', 'host-b/check-allowed', 'host-b/check-allowed']);
    expect(body.instances[1]).toMatchObject({ host: 'host-b', app: 'check-allowed', pid: 4242, activeJobs: 2, version: '0.1.0' });
    for (const field of ['startedAt', 'lastSeenAt', 'expiresAt']) expect(Date.parse(body.instances[1][field]), field).not.toBeNaN();
    expect(body.hosts).toEqual([
      { host: 'host-a', apps: { 'http-receiver': 1 }, instances: 1, lastSeenAt: expect.any(String) },
      { host: 'host-b', apps: { 'check-allowed': 2 }, instances: 2, lastSeenAt: expect.any(String) },
    ]);
    // pm2 is the answering host's own PM2: none in this process
    expect(body.pm2).toMatchObject({ available: false });

    const families = parsePrometheus((await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey })).body as string);
    const instances = families.find((family) => family.name === 'linebacker_instances');
    expect(instances?.type).toBe('GAUGE');
    expect(instances?.metrics.map((m) => [m.labels?.host, m.labels?.app, Number(m.value)])).toEqual([
      ['host-a', 'http-receiver', 1],
      ['host-b', 'check-allowed', 2],
    ]);
  });

  it('drops the instances of a host that stopped beating 3 heartbeats after their last beat, and is degraded when an app has none left', async () => {
    // host-b loses Redis for good (as a dead host would): its instances stop beating, nothing removes them
    for (const connection of hostB) connection.disconnect();
    const diedAt = Date.now();
    await expect
      .poll(async () => pairs((await healthz()).instances).filter((pair) => pair.startsWith('host-b')), { timeout: 5_000, interval: 50 })
      .toEqual([]);
    const goneAfterMs = Date.now() - diedAt;
    // within 3 heartbeats of the last beat, whenever the snapshot that shows it was taken
    expect(goneAfterMs).toBeLessThanOrEqual(3 * HEARTBEAT_MS + 150);
    const body = await healthz();
    expect(body.hosts.map((h: { host: string }) => h.host)).toEqual(['host-a']);
    await expect.poll(async () => (await healthz()).status, { timeout: 2 * REFRESH_MS + 1000 }).toBe('degraded');
  });
});
