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

const post = (to = receiver, by = writer) =>
  call(to.url, 'POST', PATH, {
    token: by.apiKey,
    json: { backupJobId: 'nightly-db', dataDate: today, backupDataLocation: `/data/admission/${++location}` },
  });
const healthz = async (of = receiver, by = ops) => (await call(of.url, 'GET', '/healthz', { token: by.apiKey })).body;
const admission = async (of = receiver, by = ops) => (await healthz(of, by)).admission as { accepting: boolean; reason: string | null };
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
    await expect.poll(async () => (await healthz()).queues?.allowed?.waiting, { timeout: 5000 }).toBe(1);
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

// The backlog limit as a drain time (LINEBACKER_ADMISSION_MAX_DRAIN_S): a receiver of its own, whose
// only limit that can bite is the drain time (the job cap is 10,000, the wait rule off). Requests
// leave the pipeline at a known pace while jobs wait (rows inserted NotAllowed: the status trigger
// writes their history, which the health snapshot counts), and the limit follows from that pace.
describe('admission control by drain time', () => {
  const BACKLOG = 25;
  let drainDb: TestDatabase;
  let drainPool: pg.Pool;
  let drainAzurite: Azurite;
  let drainReceiver: TestReceiver;
  let waitingAllowed: Queue;
  let drainWriter: TestApiClient;
  let drainOps: TestApiClient;

  beforeAll(async () => {
    drainDb = await createTestDatabase();
    drainPool = new pg.Pool({ connectionString: drainDb.databaseUrl, max: 2 });
    const prefix = testQueuePrefix();
    ({ receiver: drainReceiver, azurite: drainAzurite } = await startReceiverWithAzurite(drainDb.databaseUrl, prefix, {
      LINEBACKER_ADMISSION_MAX_BACKLOG: '10000',
      LINEBACKER_ADMISSION_MAX_WAIT_S: '0',
      LINEBACKER_ADMISSION_MAX_DRAIN_S: '1',
      LINEBACKER_ADMISSION_MIN_BACKLOG: '5',
      LINEBACKER_HEALTH_REFRESH_MS: '100',
    }));
    waitingAllowed = new Queue(QUEUES.allowed, { connection: redis, prefix });
    drainWriter = await createTestApiClient(drainDb.databaseUrl, ['requests:write'], 'writer');
    drainOps = await createTestApiClient(drainDb.databaseUrl, ['ops:read'], 'ops');
  });

  afterAll(async () => {
    await drainReceiver?.close();
    await waitingAllowed?.obliterate({ force: true });
    await waitingAllowed?.close();
    await drainAzurite?.stop();
    await drainPool?.end();
    await drainDb?.drop();
  });

  it('refuses once the backlog is more than that many seconds of the pace measured while a backlog drained', async () => {
    await addWaiting(waitingAllowed, BACKLOG);
    await expect.poll(async () => (await healthz(drainReceiver, drainOps)).queues?.allowed?.waiting, { timeout: 5000 }).toBe(BACKLOG);
    // no pace measured yet: only the 10,000-job cap applies
    expect(await admission(drainReceiver, drainOps)).toEqual({ accepting: true, reason: null });

    // ~10 requests a second leave the pipeline for 12 s while the jobs wait
    for (let tick = 0; tick < 24; tick += 1) {
      await drainPool.query(
        `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
         SELECT gen_random_uuid(), 'drained', 'nightly-db', current_date, '/drained/' || $1 || '/' || n, 'NotAllowed', 'trace'
         FROM generate_series(1, 5) n`,
        [tick],
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await expect.poll(async () => (await admission(drainReceiver, drainOps)).accepting, { timeout: 10_000 }).toBe(false);
    expect((await admission(drainReceiver, drainOps)).reason).toMatch(
      /^the pipeline has 25 jobs waiting \(in created, allowed, status-received\), \d+ s of work at the \d+ requests\/s it finishes \(limit 1 s\)$/,
    );
    const refused = await post(drainReceiver, drainWriter);
    expect(refused.status).toBe(503);
    expect(refused.body.detail).toMatch(/s of work at the \d+ requests\/s it finishes/);
  });
});
