import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES, type RequestJobData } from '@linebacker/queues';
import { RECONCILIATION_LOCK_KEY } from '../../apps/http-receiver/src/start-receiver.js';
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
    const allowedId = await insertRequest(pool, { backupJobId: 'reconcile-job', status: 'Allowed' });
    await pool.query(`UPDATE backup_requests SET checked_at = now() - interval '1 minute' WHERE backup_request_id = $1`, [allowedId]);
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
        history: ['Received', 'Failed'],
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
});
