import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '@linebacker/config';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import { QUEUES, createRequestWorker, type RequestJobData, type RequestWorkerOptions } from '@linebacker/queues';
import { checkAllowed } from '../../apps/check-allowed/src/check-allowed.js';
import { failUnsent } from '../../apps/send-to-interface/src/send-to-interface.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const log = pino({ level: 'silent' });
const retry = { startMs: 50, maxMs: 200, maxAttempts: 3, maxAgeMs: 60_000 };
/** What libs/db's pool throws when Postgres refuses connections. */
const refused = () =>
  new DependencyUnavailableError('postgres', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) });

let db: TestDatabase;
let pool: pg.Pool;
let connection: Redis;
let prefix: string;
let queue: Queue<RequestJobData>;
let worker: Worker<RequestJobData> | undefined;

function startWorker(options: Partial<RequestWorkerOptions<RequestJobData>> & Pick<RequestWorkerOptions<RequestJobData>, 'handle'>) {
  worker = createRequestWorker<RequestJobData>({
    queue: QUEUES.allowed,
    connection,
    prefix,
    concurrency: 2,
    retry,
    logger: log,
    retention: loadConfig({}).jobRetention,
    ...options,
  });
  return worker;
}

async function finished(jobId: string, timeout = 10_000) {
  await expect
    .poll(async () => ['completed', 'failed'].includes(await queue.getJobState(jobId)), { timeout })
    .toBe(true);
  return (await queue.getJob(jobId))!;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  await insertJob(pool, { backupJobId: 'retry-job' });
});

afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await queue?.close();
});

afterAll(async () => {
  connection?.disconnect();
  await pool?.end();
  await db?.drop();
});

const freshQueue = () => {
  prefix = testQueuePrefix();
  queue = new Queue<RequestJobData>(QUEUES.allowed, { connection, prefix });
  return queue;
};

describe('the retry policy on a real BullMQ worker (SPEC §6)', () => {
  it('retries a transient failure through moveToDelayed, without consuming BullMQ attempts', async () => {
    freshQueue();
    let calls = 0;
    startWorker({
      handle: async () => {
        calls += 1;
        if (calls <= 3) throw refused();
        return 'done';
      },
    });
    // BullMQ's own attempts stay at 1: only our policy retries
    await queue.add(QUEUES.allowed, { backupRequestId: 'r1', traceId: 't' }, { jobId: 'r1', attempts: 1 });
    const job = await finished('r1');
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('done');
    expect(calls).toBe(4);
    expect(job.data.attempt).toBe(3);
    expect(job.attemptsMade).toBeLessThanOrEqual(1);
  });

  it('fails a permanent failure at once and records the reason on the request', async () => {
    freshQueue();
    const id = await insertRequest(pool, { backupJobId: 'retry-job', status: 'Allowed' });
    let calls = 0;
    startWorker({
      handle: async () => {
        calls += 1;
        throw new PermanentError('the prepared data path does not exist');
      },
      onGiveUp: (data, reason) => failUnsent(pool, data, reason),
    });
    await queue.add(QUEUES.allowed, { backupRequestId: id, traceId: 't' }, { jobId: id });
    const job = await finished(id);
    expect(await job.getState()).toBe('failed');
    expect(calls).toBe(1);
    const status = await statusOf(pool, id);
    expect(status.status).toBe('Failed');
    expect(status.reason).toMatch(/the prepared data path does not exist/);
  });

  it('gives up after maxAttempts for other failures, and after maxAgeMs for connection failures', async () => {
    freshQueue();
    let calls = 0;
    startWorker({
      handle: async () => {
        calls += 1;
        throw new TypeError('unexpected');
      },
    });
    await queue.add(QUEUES.allowed, { backupRequestId: 'r2', traceId: 't' }, { jobId: 'r2' });
    const job = await finished('r2');
    expect(await job.getState()).toBe('failed');
    expect(calls).toBe(retry.maxAttempts + 1);
    expect(job.failedReason).toMatch(/unexpected.*3 attempts/);

    const old = new Date(Date.now() - 2 * retry.maxAgeMs).toISOString();
    await queue.add(QUEUES.allowed, { backupRequestId: 'r3', traceId: 't', receivedAt: old }, { jobId: 'r3' });
    await worker?.close();
    startWorker({ handle: async () => Promise.reject(refused()) });
    const tooOld = await finished('r3');
    expect(await tooOld.getState()).toBe('failed');
    expect(tooOld.failedReason).toMatch(/ECONNREFUSED.*still failing after/);
  });

  it('completes a job whose request is already past the step as a no-op', async () => {
    prefix = testQueuePrefix();
    queue = new Queue<RequestJobData>(QUEUES.created, { connection, prefix });
    const id = await insertRequest(pool, { backupJobId: 'retry-job', status: 'Sent' });
    worker = createRequestWorker<RequestJobData>({
      queue: QUEUES.created,
      connection,
      prefix,
      concurrency: 1,
      retry,
      logger: log,
      retention: loadConfig({}).jobRetention,
        handle: (data, jobLog) => checkAllowed(data, { db: pool, enqueueAllowed: async () => {} }, jobLog),
    });
    await queue.add(QUEUES.created, { backupRequestId: id, traceId: 't' }, { jobId: id });
    const job = await finished(id);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('no-op');
    expect((await statusOf(pool, id)).history).toEqual(['Received', 'Allowed', 'Sent']); // as inserted: the no-op changed nothing
  });

  it('pauses intake while a dependency is down and resumes when it answers', async () => {
    freshQueue();
    let dependencyUp = false;
    const handled: string[] = [];
    const w = startWorker({
      concurrency: 1,
      handle: async (data) => {
        if (!dependencyUp) throw refused();
        handled.push(data.backupRequestId);
        return 'done';
      },
      probe: async () => {
        if (!dependencyUp) throw refused();
      },
    });
    await queue.add(QUEUES.allowed, { backupRequestId: 'first', traceId: 't' }, { jobId: 'first' });
    await expect.poll(() => w.isPaused(), { timeout: 5000 }).toBe(true);
    await queue.addBulk(['a', 'b', 'c'].map((id) => ({ name: QUEUES.allowed, data: { backupRequestId: id, traceId: 't' }, opts: { jobId: id } })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // while paused nothing new is taken: the three jobs still wait
    expect((await queue.getJobCounts('wait')).wait).toBe(3);

    dependencyUp = true;
    await expect.poll(() => handled.sort(), { timeout: 5000 }).toEqual(['a', 'b', 'c', 'first']);
    expect(w.isPaused()).toBe(false);
  });
});
