import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPool } from '@linebacker/db';
import { QUEUES, createProducerConnection, createRequestQueue, type RedisClient } from '@linebacker/queues';
import { startApi } from '../../apps/http-receiver/src/api/start-api.js';
import { RECONCILIATION_LOCK_KEY } from '../../apps/http-receiver/src/reconciliation/start-reconciler.js';
import { startStatistics } from '../../apps/http-receiver/src/statistics/start-statistics.js';
import { startEvents } from '../../apps/http-receiver/src/events/start-events.js';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { testAppContext } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

// The receiver's parts start on their own (start-receiver.ts composes them): the API runs here
// without the reconciler and without the health collector.

let db: TestDatabase;
let admin: pg.Pool;
let redis: RedisClient;
let prefix: string;
let url: string;
let close: () => Promise<void>;
let client: TestApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
  prefix = testQueuePrefix();
  const app = testAppContext({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: prefix });
  close = app.close;
  const pool = openPool(app.context, 'http-receiver');
  redis = createProducerConnection(app.context.config.redis, 'api-alone-test');
  app.context.onShutdown('redis', () => redis.disconnect());
  const createdQueue = createRequestQueue(QUEUES.created, redis, prefix, () => {});
  app.context.onShutdown('created queue', () => createdQueue.close());
  const statistics = startStatistics(app.context, { pool, redis }).pipeline;
  const { port } = await startApi(app.context, {
    pool,
    redis,
    createdQueue,
    queues: [createdQueue],
    health: { current: () => undefined, localPm2: () => Promise.reject(new Error('no /healthz here')) },
    wakeups: { notify: () => undefined },
    statistics,
    events: startEvents(app.context, { pool }),
  });
  url = `http://127.0.0.1:${port}`;
  client = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read', 'ops:read'], 'api-alone');
});

afterAll(async () => {
  await close?.();
  await admin?.end();
  await db?.drop();
});

it('accepts and reads requests, with no reconciler and no health collector running', async () => {
  const accepted = await call(url, 'POST', '/api/v1/backup-requests', {
    token: client.apiKey,
    json: { backupJobId: 'nightly', dataDate: '2026-01-01', backupDataLocation: '/data/alone' },
  });
  expect(accepted.status).toBe(202);
  const id = accepted.body.backupRequestId as string;
  const created = new Queue(QUEUES.created, { connection: redis, prefix });
  expect(await created.getJobState(id)).toBe('waiting');
  expect((await call(url, 'GET', `/api/v1/backup-requests/${id}`, { token: client.apiKey })).status).toBe(200);

  // no health snapshot: /healthz says so, and admission admits (as at startup)
  expect(await call(url, 'GET', '/healthz', { token: client.apiKey })).toMatchObject({ status: 503, body: { status: 'starting' } });
  expect(await redis.exists(`${prefix}:linebacker:health`)).toBe(0);
  // nobody took the reconciliation lock
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [RECONCILIATION_LOCK_KEY]);
  expect(rows[0].n).toBe(0);
});
