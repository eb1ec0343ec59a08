import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { acceptBackupRequest, createPool, recordBackupAndSucceed } from '@linebacker/db';
import type { StatusReply } from '@linebacker/domain';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The pipeline steps' pools plan no sequential scan (libs/db pool.ts `keyedStatementsOnly`, issue
// 10). A pooled connection caches a generic plan for a prepared statement from its sixth run on;
// one made in the first seconds after a cold start, while backup_requests holds a few rows and was
// never analyzed, is a sequential scan, and it stays one as the table grows (seen in the bench:
// receive-status' apply statement read 175 buffers per call at 2,100 requests). Here that
// statement (a success reply's Backup and Succeeded) is warmed on a nearly empty table, the table
// grows, and the plan of the next run is read from auto_explain.

const WARM_RUNS = 8;
const ROWS_AFTER = 500;

const databases: TestDatabase[] = [];

afterAll(async () => {
  for (const db of databases) await db.drop();
});

const newRequest = (location: string) => ({
  backupRequestId: randomUUID(),
  requesterId: 'client',
  backupJobId: 'nightly',
  dataDate: '2026-12-01',
  backupDataLocation: `/backups/keyed/${location}`,
  traceId: 'trace',
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const scannedTables = (node: PlanNode): string[] => [
  ...(node['Node Type'] === 'Seq Scan' ? [node['Relation Name'] ?? '?'] : []),
  ...(node.Plans ?? []).flatMap(scannedTables),
];

/** The tables sequentially scanned by receive-status' apply statement after the table grew, on a pool warmed while it was nearly empty. */
async function seqScansAfterGrowth(keyedStatementsOnly: boolean): Promise<string[]> {
  const db = await createTestDatabase();
  databases.push(db);
  const writer = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
  const step = createPool({ url: db.databaseUrl, max: 1, connectTimeoutMs: 5000, applicationName: 'keyed-plans test', keyedStatementsOnly, onError: () => undefined });
  const plans: PlanNode[] = [];
  step.on('connect', (client) =>
    client.on('notice', (notice) => {
      const json = notice.message?.split('plan:\n')[1];
      if (json) plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
    }),
  );
  const applyOne = async () => {
    const { request } = await acceptBackupRequest(writer, newRequest(randomUUID()));
    const id = request.backupRequestId;
    for (const status of ['Allowed', 'Sent']) {
      await writer.query(`UPDATE backup_requests SET status = $2, storage_path_name = 'vault' WHERE backup_request_id = $1`, [id, status]);
    }
    const reply: StatusReply = {
      apiVersion: '2022-05-22',
      backupRequestId: id,
      storagePathName: 'vault',
      resultTypeCode: 'Succeeded',
      backupByteCount: 1,
      copyStartTimestamp: '2026-12-01T00:00:00Z',
      copyEndTimestamp: '2026-12-01T00:00:01Z',
    };
    await recordBackupAndSucceed(step, reply, ['Sent']);
  };
  try {
    await step.query('LOAD \'auto_explain\'');
    for (const setting of ['log_min_duration = 0', 'log_format = json', 'log_level = notice']) await step.query(`SET auto_explain.${setting}`);
    for (let i = 0; i < WARM_RUNS; i += 1) await applyOne(); // the generic plan is made now, on a few rows
    for (let i = 0; i < ROWS_AFTER; i += 1) await acceptBackupRequest(writer, newRequest(`${i}`));
    plans.length = 0;
    await applyOne();
    expect(plans.length).toBeGreaterThan(0);
    return plans.flatMap(scannedTables);
  } finally {
    await step.end();
    await writer.end();
  }
}

it('a step pool keeps an index plan for its apply statement after the table grew from nearly empty', async () => {
  expect(await seqScansAfterGrowth(true)).toEqual([]);
});

it('(control) a pool without it keeps the sequential scan it planned on a nearly empty table', async () => {
  expect(await seqScansAfterGrowth(false)).toContain('backup_requests');
});
