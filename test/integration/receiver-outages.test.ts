import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '@linebacker/queues';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const today = new Date().toISOString().slice(0, 10);
const PATH = '/api/v1/backup-requests';

let db: TestDatabase;
let pool: pg.Pool;
let client: TestApiClient;
let n = 0;
const body = () => ({ backupJobId: 'outage-job', dataDate: today, backupDataLocation: `/data/outage/${++n}` });

/** The same URL with host and port replaced by the proxy's. */
const viaProxy = (url: string, proxy: TcpProxy) => {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(proxy.port);
  return parsed.toString();
};
const targetOf = (url: string, defaultPort: number) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
};

const counts = async () => {
  const { rows } = await pool.query<{ requests: number; history: number; orphans: number }>(
    `SELECT (SELECT count(*)::int FROM backup_requests) AS requests,
            (SELECT count(*)::int FROM backup_request_status_history) AS history,
            (SELECT count(*)::int FROM backup_requests r WHERE NOT EXISTS
               (SELECT 1 FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id)) AS orphans`,
  );
  return rows[0]!;
};

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  client = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read']);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('with Postgres unreachable', () => {
  let proxy: TcpProxy;
  let receiver: TestReceiver;

  beforeAll(async () => {
    proxy = await startTcpProxy(targetOf(db.databaseUrl, 5432));
    receiver = await startTestReceiver({
      DATABASE_URL: viaProxy(db.databaseUrl, proxy),
      REDIS_URL: testRedisUrl(),
      LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
      LINEBACKER_RETRY_AFTER_SECONDS: '7',
    });
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await receiver?.close();
    await proxy?.close();
  });

  it('answers 503 problem+json with Retry-After and writes nothing, then recovers', async () => {
    // a first request succeeds (and warms the API-key cache, so the outage hits the write itself)
    expect((await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() })).status).toBe(202);
    const before = await counts();

    await proxy.cut();
    const refused = await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 503, title: expect.any(String), detail: expect.stringMatching(/database/) });
    expect((await call(receiver.url, 'GET', '/readyz')).status).toBe(503);
    expect((await call(receiver.url, 'GET', '/livez')).status).toBe(200);

    await proxy.restore();
    expect(await counts()).toEqual(before);
    expect((await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() })).status).toBe(202);
    expect((await call(receiver.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('never leaves a half-written request when Postgres goes away mid-flight', async () => {
    const before = await counts();
    const inFlight = Array.from({ length: 40 }, (_, i) =>
      new Promise((resolve) => setTimeout(resolve, i * 2)).then(() =>
        call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() }),
      ),
    );
    setTimeout(() => void proxy.cut(), 25);
    const responses = await Promise.all(inFlight);
    await proxy.restore();

    expect(responses.every((r) => r.status === 202 || r.status === 503)).toBe(true);
    expect(responses.some((r) => r.status === 503)).toBe(true);
    const accepted = responses.filter((r) => r.status === 202).map((r) => r.body.backupRequestId as string);
    const after = await counts();
    // every 202 is stored with its history; nothing else was stored; no request lacks its history
    const stored = await pool.query('SELECT count(*)::int AS n FROM backup_requests WHERE backup_request_id = ANY($1)', [accepted]);
    expect(stored.rows[0].n).toBe(accepted.length);
    expect(after.orphans).toBe(0);
    expect(after.requests - before.requests).toBeLessThanOrEqual(accepted.length + responses.filter((r) => r.status === 503).length);
    expect(after.history - before.history).toBe(after.requests - before.requests);
  });
});

describe('with Redis unreachable', () => {
  let proxy: TcpProxy;
  let receiver: TestReceiver;
  let redis: Redis;
  let created: Queue;

  beforeAll(async () => {
    const prefix = testQueuePrefix();
    proxy = await startTcpProxy(targetOf(testRedisUrl(), 6379));
    receiver = await startTestReceiver({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: viaProxy(testRedisUrl(), proxy),
      LINEBACKER_QUEUE_PREFIX: prefix,
    });
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    created = new Queue(QUEUES.created, { connection: redis, prefix });
  });
  afterAll(async () => {
    await receiver?.close();
    await proxy?.close();
    await created?.close();
    redis?.disconnect();
  });

  it('still answers 202 with the row stored, the job left for recovery, and readyz 503', async () => {
    await proxy.cut();
    const started = Date.now();
    const response = await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() });
    expect(response.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(2000);
    const { rows } = await pool.query('SELECT status FROM backup_requests WHERE backup_request_id = $1', [
      response.body.backupRequestId,
    ]);
    expect(rows).toEqual([{ status: 'Received' }]);
    expect(await created.getJob(response.body.backupRequestId)).toBeUndefined();

    const ready = await call(receiver.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ postgres: 'up', redis: 'down' });
  });

  it('adds jobs again once Redis is back', async () => {
    await proxy.restore();
    await expect.poll(async () => (await call(receiver.url, 'GET', '/readyz')).status, { timeout: 10_000 }).toBe(200);
    const response = await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body() });
    expect(response.status).toBe(202);
    expect((await created.getJob(response.body.backupRequestId))?.data.backupRequestId).toBe(response.body.backupRequestId);
  });
});
