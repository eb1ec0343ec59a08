import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineCounters, QUEUES, countersKey, type RequestJobData } from '@linebacker/queues';
import parsePrometheus from 'parse-prometheus-text-format';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { createAzureMessageQueue } from '@linebacker/interface-queue';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { insertJob, insertRequest } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let receiver: TestReceiver;
let redis: Redis;
let created: Queue<RequestJobData>;
let ops: TestApiClient;
let writer: TestApiClient;
let prefix: string;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  prefix = testQueuePrefix();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, prefix));
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  created = new Queue<RequestJobData>(QUEUES.created, { connection: redis, prefix });
  ops = await createTestApiClient(db.databaseUrl, ['ops:read']);
  writer = await createTestApiClient(db.databaseUrl, ['requests:write']);
  await insertJob(pool, { backupJobId: 'health-job' });
});

afterAll(async () => {
  await receiver?.close();
  await created?.close();
  redis?.disconnect();
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

describe('GET /healthz (SPEC §5.4)', () => {
  it('needs a token with ops:read', async () => {
    expect((await call(receiver.url, 'GET', '/healthz')).status).toBe(401);
    expect((await call(receiver.url, 'GET', '/healthz', { token: writer.apiKey })).status).toBe(403);
  });

  it('shows dependencies, queue counts and request counts that match reality, at most one refresh old', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (let i = 0; i < 3; i += 1) {
      await call(receiver.url, 'POST', '/api/v1/backup-requests', {
        token: writer.apiKey,
        json: { backupJobId: 'health-job', dataDate: today, backupDataLocation: `/h/${i}` },
      });
    }
    await insertRequest(pool, { backupJobId: 'health-job', status: 'Sent' });
    await insertRequest(pool, { backupJobId: 'health-job', status: 'Succeeded' });

    // a snapshot collected after every insert above (a fixture walks its request through its
    // statuses): refreshes run one after another and stamp their end, so the one after the first
    // that ended later than the inserts began after them
    const generatedAt = async () => Date.parse((await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.generatedAt ?? 0);
    const insertsDone = Date.now();
    await expect.poll(generatedAt, { timeout: 5000 }).toBeGreaterThan(insertsDone);
    const endedAfterInserts = await generatedAt();
    await expect.poll(generatedAt, { timeout: 5000 }).toBeGreaterThan(endedAfterInserts);
    const { status, body } = await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey });
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.ageMs).toBeLessThanOrEqual(1000);
    for (const dependency of ['postgres', 'redis', 'interfaceQueue']) {
      expect(body.dependencies[dependency]).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
    }
    expect(body.pm2).toEqual({ available: false, reason: 'not running under PM2', apps: [] });

    const { rows } = await pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM backup_requests GROUP BY status');
    for (const row of rows) expect(body.requests.byStatus[row.status], row.status).toBe(row.n);
    expect(body.requests.byStatus).toMatchObject({ Allowed: 0, NotAllowed: 0, Failed: 0 });
    expect(body.requests.oldestNonTerminalAgeSeconds).toBeGreaterThanOrEqual(0);

    const counts = await created.getJobCounts();
    expect(body.queues.created).toMatchObject({ waiting: counts.waiting, active: counts.active, delayed: counts.delayed, failed: counts.failed });
    expect(body.queues.created.waiting).toBe(3);
    expect(body.queues.created.oldestWaitingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(Object.keys(body.queues).sort()).toEqual(['allowed', 'created', 'status-received']);
  });

  it('shows how many messages each interface queue holds (the request queue is not created yet: only the others)', async () => {
    const statuses = createAzureMessageQueue(azurite.connectionString, 'backup-statuses');
    await statuses.send('{"one": 1}');
    await statuses.send('{"two": 2}');
    await expect
      .poll(async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.interfaceQueues, { timeout: 5000 })
      .toEqual({ 'backup-statuses': { messages: 2 } });
    const metrics = parsePrometheus((await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey })).body as string);
    const depth = metrics.find((family) => family.name === 'linebacker_interface_queue_messages')?.metrics;
    expect(depth?.map((m) => [m.labels?.queue, Number(m.value)])).toEqual([['backup-statuses', 2]]);
    for (const message of await statuses.receive(32, 5)) await statuses.delete(message);
  });

  it('exports the same figures and the pipeline counters as Prometheus text at /metrics', async () => {
    expect((await call(receiver.url, 'GET', '/metrics')).status).toBe(401);
    expect((await call(receiver.url, 'GET', '/metrics', { token: writer.apiKey })).status).toBe(403);

    const counters = new PipelineCounters(redis, countersKey(prefix));
    counters.add({ kind: 'job', step: QUEUES.created, outcome: 'done' }, 5);
    counters.add({ kind: 'reply', outcome: 'poisoned' }, 2);
    counters.add({ kind: 'sends-held-back' }, 7);
    counters.add({ kind: 'sends-held-back-ms' }, 1500);
    await counters.close();
    await expect
      .poll(async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.counters?.['replies:poisoned'], { timeout: 5000 })
      .toBe(2);

    const response = await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(response.body as string);
    const sample = (name: string, labels: Record<string, string>) =>
      families
        .find((family) => family.name === name)
        ?.metrics.find((metric) => Object.entries(labels).every(([k, v]) => metric.labels?.[k] === v));

    expect(Number(sample('linebacker_requests', { status: 'Received' })?.value)).toBe(3);
    expect(Number(sample('linebacker_queue_jobs', { queue: 'created', state: 'waiting' })?.value)).toBe(3);
    expect(Number(sample('linebacker_dependency_up', { dependency: 'postgres' })?.value)).toBe(1);
    expect(Number(sample('linebacker_step_jobs_total', { step: 'created', outcome: 'done' })?.value)).toBe(5);
    expect(Number(sample('linebacker_replies_total', { kind: 'poisoned' })?.value)).toBe(2);
    expect(Number(sample('linebacker_interface_sends_held_back_total', {})?.value)).toBe(7);
    expect(Number(sample('linebacker_interface_sends_held_back_seconds_total', {})?.value)).toBe(1.5);
    const posts = sample('linebacker_http_requests_total', { method: 'POST', route: '/api/v1/backup-requests/', status: '202' });
    expect(Number(posts?.value)).toBeGreaterThanOrEqual(3);
    expect(families.find((family) => family.name === 'linebacker_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(families.some((family) => family.name === 'process_cpu_seconds_total')).toBe(true);
  });

  it('reports the interface queue down and the status degraded when Azurite stops', async () => {
    await azurite.stop();
    await expect
      .poll(async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.status, { timeout: 5000 })
      .toBe('degraded');
    const { body } = await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey });
    expect(body.dependencies.interfaceQueue.status).toBe('down');
    expect(body.dependencies.postgres.status).toBe('up');
  });
});
