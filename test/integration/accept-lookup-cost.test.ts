import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { acceptBackupRequest } from '@linebacker/db';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// An accept must examine a bounded number of rows however many requests its requester already
// has, also when the table's statistics do not know the requester yet (a new client since the last
// ANALYZE, a fresh deployment): estimating ~1 row for it, the planner used to serve the duplicate
// lookup (SPEC §2.3) from the requester's requests newest first, filtering every one of them
// (migration duplicate-lookup-index; seen in the bench on a fresh database: 1,000-2,000 buffers
// and ~1.8 ms per accept). Checked on a long-lived connection too: from its sixth call on, the
// function's statements run a generic plan cached for the session, here one made while the table
// was nearly empty (a cold start), which must not turn into a scan as the table grows. The plans
// come from auto_explain, sent to this session as notices. The last case is a connection warmed
// after an ANALYZE of the empty table: its cached plans were sequential scans, of the duplicate
// lookup (now never a sequential scan, migration accept-lookup-one-index) and of the history
// row's foreign-key check (gone, migration history-without-foreign-key); each filtered every
// request on every accept.

const REQUESTS_BEFORE = 500;
/** Accepts on one connection before the one explained: past the 5 custom plans of a cached plan. */
const CALLS_BEFORE_EXPLAINED = 8;
const MAX_ROWS_FILTERED_OUT = 10;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

const databases: TestDatabase[] = [];

afterAll(async () => {
  for (const db of databases) await db.drop();
});

const newRequest = (requesterId: string, location: string) => ({
  backupRequestId: randomUUID(),
  requesterId,
  backupJobId: 'nightly',
  dataDate: '2026-12-01',
  backupDataLocation: `/backups/prepared/${requesterId}/volume/${location}`,
  traceId: 'trace',
});

/** The scans of backup_requests in a plan, as `Node Type` or `Node Type on Index Name`. */
const requestScans = (node: PlanNode): string[] => [
  ...(node['Relation Name'] === 'backup_requests' ? [node['Index Name'] ? `${node['Node Type']} on ${node['Index Name']}` : node['Node Type']] : []),
  ...(node.Plans ?? []).flatMap(requestScans),
];

const rowsFilteredOut = (node: PlanNode): number =>
  (node['Rows Removed by Filter'] ?? 0) + (node.Plans ?? []).reduce((sum, child) => sum + rowsFilteredOut(child), 0);

/** A test database whose backup_requests keeps the statistics it is given (no autovacuum). */
async function databaseWithoutAutovacuum(): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await createTestDatabase();
  databases.push(db);
  const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
  await pool.query('ALTER TABLE backup_requests SET (autovacuum_enabled = false)');
  return { db, pool };
}

/**
 * A connection whose statements are explained (auto_explain, as notices), with the plans of the
 * last accept made on it. `warm()` runs CALLS_BEFORE_EXPLAINED accepts first: the plans a
 * long-lived pooled connection uses.
 */
function explainedConnection(db: TestDatabase, requesterId: string) {
  const plans: PlanNode[] = [];
  const pool = new pg.Pool({
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
  pool.on('connect', (client) =>
    client.on('notice', (notice) => {
      const json = notice.message?.split('plan:\n')[1];
      if (json) plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
    }),
  );
  const plansOfAccept = async (): Promise<PlanNode[]> => {
    plans.length = 0;
    await acceptBackupRequest(pool, newRequest(requesterId, 'next'));
    expect(plans.length).toBeGreaterThan(1);
    return [...plans];
  };
  return {
    warm: async () => {
      for (let i = 0; i < CALLS_BEFORE_EXPLAINED; i += 1) await acceptBackupRequest(pool, newRequest(requesterId, `warm-${i}`));
    },
    /** The plans of one more accept: the call and the statements inside the accept function. */
    plansOfAccept,
    /** Rows filtered out by the plans of one more accept. */
    rowsFilteredOutByAccept: async () => (await plansOfAccept()).map(rowsFilteredOut).reduce((a, b) => a + b, 0),
    end: () => pool.end(),
  };
}

it('examines a bounded number of rows per accept after many requests of a requester the statistics do not know', async () => {
  const { db, pool } = await databaseWithoutAutovacuum();
  for (let i = 0; i < 300; i += 1) await acceptBackupRequest(pool, { ...newRequest(`client-${i}`, `${i}`), dataDate: '2026-11-01' });
  await pool.query('ANALYZE backup_requests');
  for (let i = 0; i < REQUESTS_BEFORE; i += 1) await acceptBackupRequest(pool, newRequest('big-client', `${i}`));
  await pool.end();
  const explained = explainedConnection(db, 'big-client');
  try {
    await explained.warm();
    expect(await explained.rowsFilteredOutByAccept()).toBeLessThanOrEqual(MAX_ROWS_FILTERED_OUT);
  } finally {
    await explained.end();
  }
});

it.each([
  ['an empty table (a fresh deployment)', false],
  ['an empty, analyzed table (its statistics say: empty; a generic plan then scans the table)', true],
])('examines a bounded number of rows per accept on a connection that started on %s', async (_table, analyzed) => {
  const { db, pool } = await databaseWithoutAutovacuum();
  if (analyzed) await pool.query('ANALYZE backup_requests');
  const explained = explainedConnection(db, 'only-client');
  try {
    await explained.warm(); // its plans are made now, on a nearly empty table, and kept
    for (let i = 0; i < REQUESTS_BEFORE; i += 1) await acceptBackupRequest(pool, newRequest('only-client', `${i}`));
    expect(await explained.rowsFilteredOutByAccept()).toBeLessThanOrEqual(MAX_ROWS_FILTERED_OUT);
  } finally {
    await explained.end();
    await pool.end();
  }
});

// Which index a cached plan ends with depends on costs that tie on a small table: the requester's
// index (requester_id, seq DESC) also matches the lookup and yields its order, and some of the
// bench's connections kept it. The lookup must have no index but its own to be served from: with
// that one gone, what is left is a (disabled) sequential scan, never another index.
it('serves the duplicate lookup from no index but the duplicate-lookup one', async () => {
  const { db, pool } = await databaseWithoutAutovacuum();
  for (let i = 0; i < 50; i += 1) await acceptBackupRequest(pool, newRequest('only-client', `${i}`));
  await pool.query('DROP INDEX backup_requests_duplicate_lookup');
  await pool.end();
  const explained = explainedConnection(db, 'only-client');
  try {
    await explained.warm();
    const lookup = (await explained.plansOfAccept()).map(requestScans).find((scans) => scans.length > 0 && !scans.includes('ModifyTable'));
    expect(lookup).toEqual(['Seq Scan']);
  } finally {
    await explained.end();
  }
});
