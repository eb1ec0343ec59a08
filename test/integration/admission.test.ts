import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import parsePrometheus from 'parse-prometheus-text-format';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '@linebacker/queues';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * Admission control (issue 10, SPEC §6 "Overload"): with small limits, jobs put straight into the
 * BullMQ queues (no worker runs here, so they stay waiting) make the receiver refuse new requests
 * until they are gone.
 */
const PATH = '/api/v1/backup-requests';
const MAX_BACKLOG = 5;
const MAX_WAIT_S = 60;
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let receiver: TestReceiver;
let redis: Redis;
let queues: Record<'created' | 'allowed' | 'statusReceived', Queue>;
let writer: TestApiClient;
let ops: TestApiClient;
let location = 0;

const post = () =>
  call(receiver.url, 'POST', PATH, {
    token: writer.apiKey,
    json: { backupJobId: 'nightly-db', dataDate: today, backupDataLocation: `/data/admission/${++location}` },
  });
const admission = async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.admission as { accepting: boolean; reason: string | null };
/** Until the receiver's snapshot shows it accepting (the first one, or one taken after a drain). */
const untilAccepting = () => expect.poll(admission, { timeout: 10_000 }).toEqual({ accepting: true, reason: null });
const requestCount = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_requests')).rows[0]!.n;
/** Jobs that only wait: ids of their own, data no worker will ever read. */
const addWaiting = (queue: Queue, count: number, options: { timestamp?: number } = {}) =>
  queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'overload', data: {}, opts: { jobId: `overload-${queue.name}-${i}`, ...options } })));

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  const prefix = testQueuePrefix();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, prefix, {
    LINEBACKER_ADMISSION_MAX_BACKLOG: String(MAX_BACKLOG),
    LINEBACKER_ADMISSION_MAX_WAIT_S: String(MAX_WAIT_S),
    LINEBACKER_HEALTH_REFRESH_MS: '100',
  }));
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const open = (name: string) => new Queue(name, { connection: redis, prefix });
  queues = { created: open(QUEUES.created), allowed: open(QUEUES.allowed), statusReceived: open(QUEUES.statusReceived) };
  writer = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'writer');
  ops = await createTestApiClient(db.databaseUrl, ['ops:read'], 'ops');
});

afterEach(async () => {
  for (const queue of Object.values(queues)) await queue.drain(true);
});

afterAll(async () => {
  await receiver?.close();
  for (const queue of Object.values(queues ?? {})) await queue.close();
  redis?.disconnect();
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

describe('admission control (SPEC §6 overload)', () => {
  it('refuses new requests with 503 + Retry-After while more jobs wait than the limit, keeps reads open, and accepts again once they are gone', async () => {
    await untilAccepting();
    const before = await post();
    expect(before.status).toBe(202);

    await addWaiting(queues.created, MAX_BACKLOG + 1);
    await expect.poll(async () => (await admission()).accepting, { timeout: 5000 }).toBe(false);
    const { reason } = await admission();
    expect(reason).toMatch(/^the pipeline has \d+ jobs waiting \(in created, allowed, status-received; limit 5\)$/);

    const storedBefore = await requestCount();
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe(String(receiver.config.http.retryAfterSeconds));
    expect(refused.body).toMatchObject({
      type: 'urn:linebacker:problem:pipeline-overloaded',
      title: 'Pipeline overloaded',
      status: 503,
      instance: PATH,
    });
    expect(refused.body.detail).toMatch(/^the pipeline has \d+ jobs waiting .*: new requests are refused until it catches up; retry after \d+ s$/);
    expect(await requestCount(), 'nothing stored for a refused request').toBe(storedBefore);

    // reads, and the operator endpoints, stay open
    const read = await call(receiver.url, 'GET', `${PATH}/${before.body.backupRequestId}`, { token: writer.apiKey });
    expect(read.status).toBe(200);
    expect((await call(receiver.url, 'GET', PATH, { token: writer.apiKey })).status).toBe(200);
    const metrics = await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey });
    expect(metrics.status).toBe(200);
    const refusals = parsePrometheus(metrics.body as string).find((family) => family.name === 'linebacker_http_requests_refused_overload_total');
    expect(Number(refusals?.metrics[0]?.value)).toBeGreaterThanOrEqual(1);

    await queues.created.drain();
    await untilAccepting();
    expect((await post()).status).toBe(202);
  });

  it('refuses while the oldest job in status-received has waited too long, but not for a long wait in allowed', async () => {
    await untilAccepting();
    const longAgo = Date.now() - 10 * MAX_WAIT_S * 1000;
    await addWaiting(queues.allowed, 1, { timestamp: longAgo });
    // give the snapshot time to see it, then it must still accept
    await expect.poll(async () => (await call(receiver.url, 'GET', '/healthz', { token: ops.apiKey })).body.queues?.allowed?.waiting, { timeout: 5000 }).toBe(1);
    expect(await admission()).toEqual({ accepting: true, reason: null });
    expect((await post()).status).toBe(202);

    await addWaiting(queues.statusReceived, 1, { timestamp: longAgo });
    await expect.poll(async () => (await admission()).accepting, { timeout: 5000 }).toBe(false);
    expect((await admission()).reason).toMatch(/^the pipeline is \d+ s behind \(the oldest job waiting in status-received; limit 60 s\)$/);
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toMatch(/^the pipeline is \d+ s behind/);
  });
});
