import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '@linebacker/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@linebacker/domain';
import { QUEUES, createRequestWorker, type RequestJobData } from '@linebacker/queues';
import { checkAllowed, type CheckAllowedDeps } from '../../apps/check-allowed/src/check-allowed.js';
import { poolBehindProxy } from '../support/database-proxy.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let pool: pg.Pool;
let redis: Redis;
let allowed: Queue<RequestJobData>;
let deps: CheckAllowedDeps;
let prefix: string;

const job = (backupRequestId: string): RequestJobData => ({ backupRequestId, traceId: 'trace-1' });

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  prefix = testQueuePrefix();
  allowed = new Queue<RequestJobData>(QUEUES.allowed, { connection: redis, prefix });
  deps = {
    db: pool,
    enqueueAllowed: async (data) => void (await allowed.add(QUEUES.allowed, data, { jobId: data.backupRequestId })),
  };
  await insertJob(pool, { backupJobId: 'active-job', storagePathName: 'vault/active', backupProviderCode: 'CloudB' });
  await insertJob(pool, { backupJobId: 'inactive-job', isActive: false });
});

afterAll(async () => {
  await allowed?.close();
  redis?.disconnect();
  await pool?.end();
  await db?.drop();
});

describe('check-allowed (SPEC §3)', () => {
  it('allows a request for an active job, copying provider and storage path, and adds it to `allowed`', async () => {
    const id = await insertRequest(pool, { backupJobId: 'active-job' });
    expect(await checkAllowed(job(id), deps, log)).toBe('done');

    const { rows } = await pool.query(
      'SELECT status, backup_provider_code, storage_path_name, checked_at IS NOT NULL AS checked FROM backup_requests WHERE backup_request_id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ status: 'Allowed', backup_provider_code: 'CloudB', storage_path_name: 'vault/active', checked: true });
    expect((await statusOf(pool, id)).history).toEqual(['Received', 'Allowed']);
    const next = await allowed.getJob(id);
    // with its outbound message (SPEC §4), so that send-to-interface's first run need not read the request
    expect(next?.data).toMatchObject({
      backupRequestId: id,
      traceId: expect.any(String),
      message: { backupRequestId: id, backupJobId: 'active-job', storagePathName: 'vault/active', backupProviderCode: 'CloudB' },
    });
  });

  it.each([
    ['inactive-job', 'backup job is inactive'],
    ['no-such-job', 'unknown backup job'],
  ])('refuses a request for %s with the reason "%s"', async (backupJobId, reason) => {
    const id = await insertRequest(pool, { backupJobId });
    expect(await checkAllowed(job(id), deps, log)).toBe('done');
    expect(await statusOf(pool, id)).toEqual({ status: 'NotAllowed', reason, history: ['Received', 'NotAllowed'] });
    expect(await allowed.getJob(id)).toBeUndefined();
  });

  it('treats a repeated job as done: no second transition, and an Allowed request gets its `allowed` job back', async () => {
    const id = await insertRequest(pool, { backupJobId: 'active-job' });
    await checkAllowed(job(id), deps, log);
    await allowed.remove(id); // as if the first attempt died before adding it
    expect(await checkAllowed(job(id), deps, log)).toBe('no-op');
    expect((await statusOf(pool, id)).history).toEqual(['Received', 'Allowed']);
    expect(await allowed.getJob(id)).toBeDefined();

    for (const status of ['NotAllowed', 'Sent', 'Succeeded', 'Failed'] as const) {
      const done = await insertRequest(pool, { backupJobId: 'active-job', status });
      expect(await checkAllowed(job(done), deps, log)).toBe('no-op');
      expect((await statusOf(pool, done)).status).toBe(status);
    }
  });

  it('completes as a no-op for a job whose request does not exist', async () => {
    expect(await checkAllowed(job('018f0000-0000-7000-8000-000000000000'), deps, log)).toBe('no-op');
  });

  it('treats a database outage as transient, never as NotAllowed', async () => {
    const id = await insertRequest(pool, { backupJobId: 'active-job' });
    const { pool: viaProxy, proxy, close } = await poolBehindProxy(db.databaseUrl);
    await proxy.cut();
    const failure = await checkAllowed(job(id), { ...deps, db: viaProxy }, log).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'postgres' });
    expect((await statusOf(pool, id)).status).toBe('Received');
    await close();
  });

  it('runs as a BullMQ worker on `created`: jobs added there end Allowed / NotAllowed', async () => {
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const created = new Queue<RequestJobData>(QUEUES.created, { connection, prefix });
    const worker = createRequestWorker<RequestJobData>({
      queue: QUEUES.created,
      connection,
      prefix,
      concurrency: 4,
      retry: { startMs: 50, maxMs: 200, maxAttempts: 3, maxAgeMs: 60_000 },
      logger: log,
      retention: loadConfig({}).jobRetention,
      handle: (data, jobLog) => checkAllowed(data, deps, jobLog),
    });
    const ids = await Promise.all(
      ['active-job', 'inactive-job', 'active-job', 'no-such-job'].map((backupJobId) => insertRequest(pool, { backupJobId })),
    );
    await created.addBulk(ids.map((id) => ({ name: QUEUES.created, data: job(id), opts: { jobId: id } })));
    await expect
      .poll(async () => Promise.all(ids.map(async (id) => (await statusOf(pool, id)).status)), { timeout: 10_000 })
      .toEqual(['Allowed', 'NotAllowed', 'Allowed', 'NotAllowed']);
    await worker.close();
    await created.close();
    connection.disconnect();
  });
});
