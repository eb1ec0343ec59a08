import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acceptBackupRequest } from '@linebacker/db';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// An accept must examine a bounded number of rows however many requests its requester already
// has, also when the table's statistics do not know the requester yet (a new client since the last
// ANALYZE, a fresh deployment): estimating ~1 row for it, the planner used to serve the duplicate
// lookup (SPEC §2.3) from the requester's requests newest first, filtering every one of them
// (migration duplicate-lookup-index; seen in the bench on a fresh database: 1,000-2,000 buffers
// and ~1.8 ms per accept). The plans come from auto_explain, sent to this session as notices.

const REQUESTS_BEFORE = 500;
const MAX_ROWS_FILTERED_OUT = 10;

interface PlanNode {
  'Node Type': string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const newRequest = (requesterId: string, location: string) => ({
  backupRequestId: randomUUID(),
  requesterId,
  backupJobId: 'nightly',
  dataDate: '2026-12-01',
  backupDataLocation: `/backups/prepared/${requesterId}/volume/${location}`,
  traceId: 'trace',
});

const rowsFilteredOut = (node: PlanNode): number =>
  (node['Rows Removed by Filter'] ?? 0) + (node.Plans ?? []).reduce((sum, child) => sum + rowsFilteredOut(child), 0);

it('examines a bounded number of rows per accept after many requests of a requester the statistics do not know', async () => {
  await pool.query('ALTER TABLE backup_requests SET (autovacuum_enabled = false)'); // the statistics stay as taken here
  for (let i = 0; i < 300; i += 1) await acceptBackupRequest(pool, { ...newRequest(`client-${i}`, `${i}`), dataDate: '2026-11-01' });
  await pool.query('ANALYZE backup_requests');
  for (let i = 0; i < REQUESTS_BEFORE; i += 1) await acceptBackupRequest(pool, newRequest('big-client', `${i}`));

  const plans: PlanNode[] = [];
  const explained = new pg.Pool({
    connectionString: db.databaseUrl,
    max: 1,
    options: [
      'session_preload_libraries=auto_explain',
      ...['log_min_duration=0', 'log_nested_statements=on', 'log_analyze=on', 'log_format=json', 'log_level=notice'].map(
        (setting) => `auto_explain.${setting}`,
      ),
    ]
      .map((setting) => `-c ${setting}`)
      .join(' '),
  });
  explained.on('connect', (client) =>
    client.on('notice', (notice) => {
      const json = notice.message?.split('plan:\n')[1];
      if (json) plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
    }),
  );
  try {
    await acceptBackupRequest(explained, newRequest('big-client', 'next'));
  } finally {
    await explained.end();
  }
  expect(plans.length).toBeGreaterThan(1); // the call and the statements inside the accept function
  expect(plans.map(rowsFilteredOut).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_ROWS_FILTERED_OUT);
});
