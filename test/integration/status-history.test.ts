import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failUnanswered, NO_REPLY_REASON } from '../../apps/http-receiver/src/reconciliation/reconcile.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The status history is written by the database, once, for every status a request takes (migration
// status-history-trigger), and the reply timeout is a transition like any other.

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  await insertJob(pool, { backupJobId: 'history-job' });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const historyOf = async (id: string) =>
  (
    await pool.query<{ status: string; reason: string | null }>(
      'SELECT status, reason FROM backup_request_status_history WHERE backup_request_id = $1 ORDER BY id',
      [id],
    )
  ).rows;

describe('status history', () => {
  it('gets a row for the first status and for every change of status, with its reason, and for nothing else', async () => {
    const id = await insertRequest(pool, { backupJobId: 'history-job' });
    await pool.query(`UPDATE backup_requests SET status = 'NotAllowed', status_reason = 'backup job is inactive' WHERE backup_request_id = $1`, [id]);
    await pool.query(`UPDATE backup_requests SET trace_id = 'other', status = 'NotAllowed' WHERE backup_request_id = $1`, [id]);
    expect(await historyOf(id)).toEqual([
      { status: 'Received', reason: null },
      { status: 'NotAllowed', reason: 'backup job is inactive' },
    ]);
  });
});

describe('the reply timeout', () => {
  it('fails Sent requests without a reply through the transition statement: reason, replied_at, history', async () => {
    const sent = await insertRequest(pool, { backupJobId: 'history-job', status: 'Sent' });
    const succeeded = await insertRequest(pool, { backupJobId: 'history-job', status: 'Succeeded' });
    await pool.query(`UPDATE backup_requests SET sent_at = now() - interval '1 hour' WHERE backup_request_id = ANY($1)`, [[sent, succeeded]]);

    expect(await failUnanswered(pool, 60_000, 1000)).toEqual([sent]);
    expect(await statusOf(pool, sent)).toEqual({ status: 'Failed', reason: NO_REPLY_REASON, history: ['Received', 'Allowed', 'Sent', 'Failed'] });
    const { rows } = await pool.query('SELECT replied_at IS NOT NULL AS replied FROM backup_requests WHERE backup_request_id = $1', [sent]);
    expect(rows[0].replied).toBe(true);
    expect((await statusOf(pool, succeeded)).status).toBe('Succeeded');
    expect(await failUnanswered(pool, 60_000, 1000)).toEqual([]);
  });
});
