import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCounts, countAllRequests, type RequestStatistics } from '@linebacker/db';
import { insertJob, insertRequest, walkStatuses } from '../support/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The request counts of /healthz (issue 12): a whole-table count when the collector starts, then
// only the status changes since (libs/db backup-requests/statistics.ts). They must equal a count of
// the table at every read, whatever order concurrent transactions commit in.

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  await insertJob(pool, { backupJobId: 'count-job' });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const byStatus = async (read: Promise<RequestStatistics>) => (await read).byStatus;
const tableCounts = () => byStatus(countAllRequests(pool));

/** A transaction of its own that has moved a request and not committed yet. */
async function openTransition(id: string, to: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('UPDATE backup_requests SET status = $2 WHERE backup_request_id = $1', [id, to]);
  return client;
}

async function end(client: pg.Client, how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  await client.query(how);
  await client.end();
}

describe('request counts from the status history', () => {
  it('equal a count of the table at every read while requests are added and move on', async () => {
    const counts = new RequestCounts();
    expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    const ids: string[] = [];
    for (const status of ['Received', 'Allowed', 'NotAllowed', 'Sent', 'Succeeded', 'Failed'] as const) {
      ids.push(await insertRequest(pool, { backupJobId: 'count-job', status }));
      expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    }
    // a later success reply wins over Failed (SPEC §2.2), several changes in one transaction, and
    // changes written while no read happens
    await walkStatuses(pool, ids[5]!, ['Succeeded']);
    await pool.query(`BEGIN; UPDATE backup_requests SET status = 'Allowed' WHERE backup_request_id = $$${ids[0]}$$;
      UPDATE backup_requests SET status = 'Sent' WHERE backup_request_id = $$${ids[0]}$$; COMMIT`);
    await Promise.all(Array.from({ length: 20 }, (_, i) => insertRequest(pool, { backupJobId: 'count-job', status: i % 2 ? 'Succeeded' : 'Sent' })));
    for (let i = 0; i < 3; i += 1) expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    expect((await tableCounts()).Succeeded).toBe(12);
  });

  it('count a change that commits after later ones (out of id order) when it commits, and never one rolled back', async () => {
    const counts = new RequestCounts();
    await counts.read(pool);
    const [slow, aborted] = [await insertRequest(pool, { backupJobId: 'count-job' }), await insertRequest(pool, { backupJobId: 'count-job' })];
    // both take their history ids now, and hold them while later changes commit around them
    const slowTx = await openTransition(slow, 'Allowed');
    const abortedTx = await openTransition(aborted, 'NotAllowed');
    try {
      for (let i = 0; i < 3; i += 1) {
        await insertRequest(pool, { backupJobId: 'count-job', status: 'Sent' });
        expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
      }
    } finally {
      await end(abortedTx, 'ROLLBACK');
      await end(slowTx, 'COMMIT');
    }
    for (let i = 0; i < 3; i += 1) {
      await insertRequest(pool, { backupJobId: 'count-job', status: 'Succeeded' });
      expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    }
  });

  it('count a change held by a transaction newer than every finished one (a snapshot xmax does not cover it)', async () => {
    const counts = new RequestCounts();
    await counts.read(pool);
    const [first, second] = [await insertRequest(pool, { backupJobId: 'count-job' }), await insertRequest(pool, { backupJobId: 'count-job' })];
    // `early` has an older xid but takes its history id after `late` has taken one
    const early = new pg.Client({ connectionString: db.databaseUrl });
    await early.connect();
    await early.query('BEGIN');
    await early.query('SELECT pg_current_xact_id()');
    const late = await openTransition(first, 'Allowed');
    await early.query(`UPDATE backup_requests SET status = 'NotAllowed' WHERE backup_request_id = $1`, [second]);
    await end(early, 'COMMIT');
    try {
      for (let i = 0; i < 3; i += 1) expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    } finally {
      await end(late, 'COMMIT');
    }
    expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
  });

  it('are exact from the first read when they start while a transaction is open, and count incrementally once it ends', async () => {
    const id = await insertRequest(pool, { backupJobId: 'count-job', status: 'Sent' });
    const open = await openTransition(id, 'Failed');
    const counts = new RequestCounts({ startWaitMs: 100 });
    try {
      // the start waits for the open transaction, then falls back to a whole-table count
      expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    } finally {
      await end(open, 'COMMIT');
    }
    expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
    await insertRequest(pool, { backupJobId: 'count-job', status: 'NotAllowed' });
    expect(await byStatus(counts.read(pool))).toEqual(await tableCounts());
  });

  it('read neither table whole once started: the open requests by their index, the history above the watermark by its BRIN index', async () => {
    const client = await pool.connect();
    // on tables this small a sequential scan is the cheapest plan; without it, a read still finds
    // no sequential scan only if an index serves every table it touches
    await client.query('SET enable_seqscan = off');
    const scans = async () => {
      await client.query('SELECT pg_stat_force_next_flush()');
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ relname: string; seq_scan: string }>(
        `SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname IN ('backup_requests', 'backup_request_status_history') ORDER BY relname`,
      );
      return rows.map((row) => `${row.relname} ${row.seq_scan}`);
    };
    try {
      const counts = new RequestCounts();
      await counts.read(client);
      await insertRequest(pool, { backupJobId: 'count-job', status: 'Succeeded' });
      const before = await scans();
      for (let i = 0; i < 3; i += 1) await counts.read(client);
      expect(await scans()).toEqual(before);
      expect((await counts.read(client)).oldestNonTerminalAgeSeconds).toBeGreaterThanOrEqual(0);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });
});
