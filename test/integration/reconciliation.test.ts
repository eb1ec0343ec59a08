import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRequestsInStatus, markApplied, recordTransition, storeReplies } from '@linebacker/db';
import type { StatusReply } from '@linebacker/domain';
import {
  PipelineCounters,
  QUEUES,
  countersKey,
  readCounters,
  statusReceivedJobId,
  type RequestJobData,
  type StatusReceivedJobData,
} from '@linebacker/queues';
import { readdStrandedRequests, reconcile } from '../../apps/http-receiver/src/reconciliation/reconcile.js';
import { RECONCILIATION_LOCK_KEY } from '../../apps/http-receiver/src/reconciliation/start-reconciler.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let pool: pg.Pool;
let redis: Redis;

const fastReconciliation = (prefix: string) => ({
  DATABASE_URL: db.databaseUrl,
  REDIS_URL: testRedisUrl(),
  LINEBACKER_QUEUE_PREFIX: prefix,
  LINEBACKER_RECOVERY_DELAY_MS: '100',
  LINEBACKER_RECONCILE_INTERVAL_MS: '200',
  LINEBACKER_RECONCILE_GRACE_MS: '0',
  LINEBACKER_REPLY_TIMEOUT_MS: '1000',
});

/** An Allowed request that check-allowed moved a minute ago (so past any reconciliation grace). */
async function insertAllowedRequest(db: pg.Pool): Promise<string> {
  const id = await insertRequest(db, { backupJobId: 'reconcile-job', status: 'Allowed' });
  await db.query(`UPDATE backup_requests SET checked_at = now() - interval '1 minute' WHERE backup_request_id = $1`, [id]);
  return id;
}

const addJob = (queue: Queue<RequestJobData>, id: string) => queue.add(queue.name, { backupRequestId: id, traceId: 't' }, { jobId: id });

/**
 * Takes the next waiting job of `worker`'s queue as a step worker does, runs `step` (the step's
 * commit), then ends the job as `end`.
 */
async function runNextJob(
  worker: Worker<RequestJobData>,
  end: 'completed' | 'failed',
  step: () => Promise<unknown> = async () => {},
): Promise<void> {
  const token = randomUUID();
  const job = await worker.getNextJob(token);
  if (!job) throw new Error(`no waiting job in ${worker.name}`);
  await step();
  if (end === 'completed') await job.moveToCompleted('done', token, false);
  else await job.moveToFailed(new Error('stalled more than allowable limit'), token, false);
}

/**
 * A database and queue prefix of their own (the tests before leave requests behind), the three
 * queues a reconciliation pass works on, and a pass over them with no grace.
 */
async function ownPipeline() {
  const own = await createTestDatabase();
  const ownPool = new pg.Pool({ connectionString: own.databaseUrl, max: 2 });
  const prefix = testQueuePrefix();
  const created = new Queue<RequestJobData>(QUEUES.created, { connection: redis, prefix });
  const allowed = new Queue<RequestJobData>(QUEUES.allowed, { connection: redis, prefix });
  const statusReceived = new Queue<StatusReceivedJobData>(QUEUES.statusReceived, { connection: redis, prefix });
  const counters = new PipelineCounters(redis, countersKey(prefix));
  return {
    ownPool,
    prefix,
    counters,
    created,
    allowed,
    statusReceived,
    pass: () =>
      reconcile({
        db: ownPool,
        created,
        allowed,
        statusReceived,
        graceMs: 0,
        batchSize: 1000,
        replyTimeoutMs: 60_000,
        log: pino({ level: 'silent' }),
        counters,
      }),
    close: async () => {
      await counters.close();
      await Promise.all([created.close(), allowed.close(), statusReceived.close()]);
      await ownPool.end();
      await own.drop();
    },
  };
}

/** Backend pids holding the reconciliation lock in this database. */
async function lockHolders(): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
     WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND d.datname = current_database()`,
    [RECONCILIATION_LOCK_KEY],
  );
  return rows.map((row) => row.pid);
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  await insertJob(pool, { backupJobId: 'reconcile-job' });
});

afterAll(async () => {
  redis?.disconnect();
  await pool?.end();
  await db?.drop();
});

describe('startup recovery and reconciliation (SPEC §6)', () => {
  it('re-adds Received and Allowed requests whose jobs are missing, without duplicating existing ones, and times out Sent ones', async () => {
    const prefix = testQueuePrefix();
    const created = new Queue<RequestJobData>(QUEUES.created, { connection: redis, prefix });
    const allowed = new Queue<RequestJobData>(QUEUES.allowed, { connection: redis, prefix });
    const received = await insertRequest(pool, { backupJobId: 'reconcile-job' });
    const queued = await insertRequest(pool, { backupJobId: 'reconcile-job' });
    await created.add(QUEUES.created, { backupRequestId: queued, traceId: 't' }, { jobId: queued, delay: 60_000 });
    const allowedId = await insertAllowedRequest(pool);
    const sent = await insertRequest(pool, { backupJobId: 'reconcile-job', status: 'Sent' });
    await pool.query(`UPDATE backup_requests SET sent_at = now() - interval '1 hour' WHERE backup_request_id = $1`, [sent]);

    const receiver = await startTestReceiver(fastReconciliation(prefix));
    try {
      await expect.poll(async () => (await created.getJob(received))?.data.backupRequestId, { timeout: 5000 }).toBe(received);
      await expect.poll(async () => (await allowed.getJob(allowedId))?.data.backupRequestId, { timeout: 5000 }).toBe(allowedId);
      await expect.poll(async () => (await statusOf(pool, sent)).status, { timeout: 5000 }).toBe('Failed');

      expect(await statusOf(pool, sent)).toEqual({
        status: 'Failed',
        reason: 'no reply from backup interface',
        history: ['Received', 'Allowed', 'Sent', 'Failed'],
      });
      // the job that was still waiting (delayed) was left alone: one job, still delayed
      expect(await (await created.getJob(queued))?.getState()).toBe('delayed');
      expect((await created.getJobCounts()).waiting).toBe(1);
    } finally {
      await receiver.close();
      await created.close();
      await allowed.close();
    }
  });

  it('heals a Redis wipe of the queues without a restart', async () => {
    const prefix = testQueuePrefix();
    const created = new Queue<RequestJobData>(QUEUES.created, { connection: redis, prefix });
    const receiver = await startTestReceiver(fastReconciliation(prefix));
    try {
      const ids = await Promise.all([1, 2, 3].map(() => insertRequest(pool, { backupJobId: 'reconcile-job' })));
      await expect.poll(async () => (await created.getJobCounts()).waiting, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
      // a FLUSHALL of this pipeline's keys
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await expect
        .poll(async () => (await Promise.all(ids.map((id) => created.getJob(id)))).every(Boolean), { timeout: 5000 })
        .toBe(true);
    } finally {
      await receiver.close();
      await created.close();
    }
  });

  it('runs in exactly one of two instances, and hands over when that one goes', async () => {
    const prefix = testQueuePrefix();
    const first = await startTestReceiver(fastReconciliation(prefix));
    let second: TestReceiver | undefined;
    try {
      await expect.poll(lockHolders, { timeout: 5000 }).toHaveLength(1);
      const [leader] = await lockHolders();
      second = await startTestReceiver(fastReconciliation(prefix));
      for (let i = 0; i < 5; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await lockHolders()).toEqual([leader]);
      }
      await first.close();
      await expect.poll(lockHolders, { timeout: 3000 }).toHaveLength(1);
      expect((await lockHolders())[0]).not.toBe(leader);

      // the lock dies with its session: kill the new leader's connection, and leadership returns
      await pool.query('SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = $1 AND objid = $2', ['advisory', RECONCILIATION_LOCK_KEY]);
      await expect.poll(lockHolders, { timeout: 3000 }).toHaveLength(1);
    } finally {
      await first.close();
      await second?.close();
    }
  });

  it('re-adds only requests still in their status after their job was seen ended, not those a step moved on meanwhile', async () => {
    const prefix = testQueuePrefix();
    const allowed = new Queue<RequestJobData>(QUEUES.allowed, { connection: redis, prefix });
    const worker = new Worker<RequestJobData>(QUEUES.allowed, null, { connection: redis, prefix });
    try {
      const ids = await Promise.all([1, 2, 3, 4, 5].map(() => insertAllowedRequest(pool)));
      const [raced, completed, failed, missing, pending] = ids as [string, string, string, string, string];
      // stranded: their jobs ended while the requests stayed Allowed
      await addJob(allowed, completed);
      await runNextJob(worker, 'completed');
      await addJob(allowed, failed);
      await runNextJob(worker, 'failed');
      await addJob(allowed, raced);

      // the pass takes its snapshot while raced's job still waits in the backlog...
      const snapshot = (await findRequestsInStatus(pool, 'Allowed', new Date(), 1000)).filter((request) =>
        ids.includes(request.backupRequestId),
      );
      expect(snapshot).toHaveLength(5);
      // ...then send-to-interface runs that job: it commits Sent, then the job completes
      await runNextJob(worker, 'completed', () => recordTransition(pool, { backupRequestId: raced, to: 'Sent' }));
      await addJob(allowed, pending);

      expect(await readdStrandedRequests(allowed, pool, 'Allowed', snapshot)).toBe(3);
      expect(await allowed.getJobState(raced)).toBe('completed');
      for (const id of [completed, failed, missing, pending]) expect(await allowed.getJobState(id)).toBe('waiting');
      expect(await allowed.getJobCounts('waiting', 'completed', 'failed')).toEqual({ waiting: 4, completed: 1, failed: 0 });
      expect((await statusOf(pool, raced)).status).toBe('Sent');
    } finally {
      await worker.close();
      await allowed.close();
    }
  });

  it('a pass re-adds the jobs that ended while their requests stayed Received or Allowed, and counts them', async () => {
    const { ownPool, prefix, counters, created, allowed, pass, close } = await ownPipeline();
    const createdWorker = new Worker<RequestJobData>(QUEUES.created, null, { connection: redis, prefix });
    const allowedWorker = new Worker<RequestJobData>(QUEUES.allowed, null, { connection: redis, prefix });
    try {
      await insertJob(ownPool, { backupJobId: 'reconcile-job' });
      const received = await insertRequest(ownPool, { backupJobId: 'reconcile-job' });
      await addJob(created, received);
      await runNextJob(createdWorker, 'failed');
      const allowedId = await insertAllowedRequest(ownPool);
      await addJob(allowed, allowedId);
      await runNextJob(allowedWorker, 'completed');

      expect(await pass()).toEqual({ readdedCreated: 1, readdedAllowed: 1, readdedReplies: 0, timedOut: 0 });
      expect(await created.getJobState(received)).toBe('waiting');
      expect(await allowed.getJobState(allowedId)).toBe('waiting');
      await counters.flush();
      expect(await readCounters(redis, countersKey(prefix))).toMatchObject({ 'reconcile:readded:created': 1, 'reconcile:readded:allowed': 1 });
    } finally {
      await createdWorker.close();
      await allowedWorker.close();
      await close();
    }
  });

  it('a pass wakes receive-status again for every inbox reply not applied whose job is missing or ended (SPEC §4)', async () => {
    const { ownPool, prefix, statusReceived, pass, close } = await ownPipeline();
    const worker = new Worker<StatusReceivedJobData>(QUEUES.statusReceived, null, { connection: redis, prefix });
    try {
      const reply = (): StatusReply => ({
        apiVersion: '2022-05-22',
        backupRequestId: randomUUID(),
        storagePathName: 'vault/x',
        resultTypeCode: 'Succeeded',
        backupByteCount: 1,
        copyStartTimestamp: '2026-01-15T01:00:00Z',
        copyEndTimestamp: '2026-01-15T01:05:00Z',
      });
      // as after a FLUSHALL: four replies in the inbox, none with a job...
      const [lost, failed, pending, applied] = (
        await storeReplies(
          ownPool,
          'backup-statuses',
          [1, 2, 3, 4].map((n) => ({ messageId: `message-${n}`, reply: reply() })),
        )
      ).map((row) => row.inboxId) as [string, string, string, string];
      // ...except one whose job failed (retained under its id), one whose job waits, and one applied
      const add = (inboxId: string) =>
        statusReceived.add(QUEUES.statusReceived, { inboxId, backupRequestId: 'b', traceId: 't' }, { jobId: statusReceivedJobId(inboxId) });
      await add(failed);
      const token = randomUUID();
      await (await worker.getNextJob(token)).moveToFailed(new Error('gave up without recording it'), token, false);
      await add(pending);
      await markApplied(ownPool, applied, 'record-backup');

      expect(await pass()).toEqual({ readdedCreated: 0, readdedAllowed: 0, readdedReplies: 2, timedOut: 0 });
      for (const inboxId of [lost, failed, pending]) expect(await statusReceived.getJobState(statusReceivedJobId(inboxId))).toBe('waiting');
      expect(await statusReceived.getJobState(statusReceivedJobId(applied))).toBe('unknown');
      expect((await statusReceived.getJob(statusReceivedJobId(lost)))?.data).toMatchObject({ inboxId: lost });
    } finally {
      await worker.close();
      await close();
    }
  });
});
