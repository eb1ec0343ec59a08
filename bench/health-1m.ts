/*
 * `npm run bench:health-1m [-- --requests 1000000 --open 1000 --reads 30 --transitions 200 --keep]`
 * (issue 12): what one /healthz collection costs with a million requests in the table.
 *
 * Creates and migrates a database of its own (on DATABASE_URL's server), fills it with `--requests`
 * requests (`--open` of them still Received / Allowed / Sent, the others finished) and their
 * status history, generated in SQL (INSERT ... SELECT generate_series; the history trigger is off
 * during the fill, the rows it would write are generated alongside), then VACUUM ANALYZE, as
 * autovacuum would have done. Then it times:
 *   - the whole-table count /healthz used before (GROUP BY status over backup_requests);
 *   - the request counts of the health collector (libs/db RequestCounts): its starting count, then
 *     `--reads` reads one second apart while a writer moves requests through their statuses at
 *     `--transitions` status changes per second, each read checked against a count of the table
 *     taken in the same pause of the writer at the end;
 *   - the whole health collection (apps/http-receiver collect-health.ts: Postgres, Redis, an
 *     Azurite of its own for the interface queues, the three BullMQ queues, the request counts) at
 *     each of those reads, and before the fill on the empty table (what does not depend on it).
 * Results: a summary on stdout and bench/results/health-1m-<timestamp>.json. The database and the
 * Azurite are removed at the end (`--keep` keeps the database, e.g. to EXPLAIN the queries).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RequestCounts, countAllRequests, prepareDatabase } from '@linebacker/db';
import { createInterfaceQueues } from '@linebacker/interface-queue';
import { QUEUES, countersKey, createRequestQueue, readInstances } from '@linebacker/queues';
import { collectHealth } from '../apps/http-receiver/src/health/collect-health.js';
import { startAzurite } from '../test/support/azurite.js';
import { withDatabase } from '../test/support/services.js';
import { saveResults } from './support/standalone-pipeline.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    open: { type: 'string', default: '1000' },
    reads: { type: 'string', default: '30' },
    transitions: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
});
const REQUESTS = Number(values.requests);
const OPEN = Number(values.open);
const READS = Number(values.reads);
const TRANSITIONS_PER_S = Number(values.transitions);
const TARGET_MS = 50;
const CHUNK = 100_000;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 0.5), 2), p95: round(percentile(sorted, 0.95), 2), max: round(sorted.at(-1)!, 2) };
};

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/**
 * Requests `from`..`to` (of REQUESTS) and their history rows, as the pipeline would have left
 * them: the last OPEN requests still in the pipeline, 3 % NotAllowed, 5 % Failed, 0.1 % Failed
 * and then Succeeded (a late success reply), the rest Succeeded; received over the last 29 days.
 */
async function fill(db: pg.Pool, from: number, to: number): Promise<void> {
  await db.query(
    `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status,
       trace_id, received_at, checked_at, sent_at, replied_at, backup_provider_code, storage_path_name, status_reason)
     SELECT gen_random_uuid(), 'bench-client-' || g % 50, 'bench-job-' || g % 200, date '2026-01-01' + g % 300,
       '/data/prepared/' || g, status, md5(g::text), at,
       CASE WHEN status <> 'Received' THEN at END, CASE WHEN status IN ('Sent', 'Succeeded', 'Failed') THEN at END,
       CASE WHEN status IN ('Succeeded', 'Failed') THEN at END,
       CASE WHEN status NOT IN ('Received', 'NotAllowed') THEN 'CloudA' END, CASE WHEN status NOT IN ('Received', 'NotAllowed') THEN 'vault/bench' END,
       CASE WHEN status IN ('NotAllowed', 'Failed') THEN 'bench' END
     FROM (
       SELECT g, now() - make_interval(secs => ($3 - g) * 2.5) AS at,
         CASE WHEN g > $3 - $4 THEN (ARRAY['Received', 'Allowed', 'Sent'])[g % 3 + 1]
              WHEN g % 100 < 3 THEN 'NotAllowed' WHEN g % 100 < 8 THEN 'Failed' ELSE 'Succeeded' END AS status
       FROM generate_series($1::int, $2::int) AS g
     ) AS s`,
    [from, to, REQUESTS, OPEN],
  );
  await db.query(
    `INSERT INTO backup_request_status_history (backup_request_id, status, previous_status, at)
     SELECT r.backup_request_id, p.status, p.previous, r.received_at + p.step * interval '100 ms'
     FROM backup_requests r
     JOIN (VALUES
       ('Received', 1, 'Received', NULL), ('Allowed', 1, 'Received', NULL), ('Allowed', 2, 'Allowed', 'Received'),
       ('NotAllowed', 1, 'Received', NULL), ('NotAllowed', 2, 'NotAllowed', 'Received'),
       ('Sent', 1, 'Received', NULL), ('Sent', 2, 'Allowed', 'Received'), ('Sent', 3, 'Sent', 'Allowed'),
       ('Succeeded', 1, 'Received', NULL), ('Succeeded', 2, 'Allowed', 'Received'), ('Succeeded', 3, 'Sent', 'Allowed'),
       ('Succeeded', 4, 'Succeeded', 'Sent'),
       ('Failed', 1, 'Received', NULL), ('Failed', 2, 'Allowed', 'Received'), ('Failed', 3, 'Sent', 'Allowed'), ('Failed', 4, 'Failed', 'Sent')
     ) AS p (final, step, status, previous) ON p.final = r.status
     WHERE r.seq BETWEEN $1 AND $2
     ORDER BY r.seq, p.step`,
    [from, to],
  );
  // a late success reply for one request in a thousand: Failed -> Succeeded, through the trigger
  await db.query(`UPDATE backup_requests SET status = 'Succeeded' WHERE seq BETWEEN $1 AND $2 AND status = 'Failed' AND seq % 1000 = 7`, [from, to]);
}

/**
 * Moves requests through their statuses at about `perSecond` changes a second until stopped: new
 * requests come in, the oldest open ones move one step on (Received → Allowed → Sent → Succeeded).
 */
function startWriter(db: pg.Pool, perSecond: number): { stop(): Promise<number> } {
  let running = true;
  let changes = 0;
  const loop = (async () => {
    const started = performance.now();
    while (running) {
      const due = started + (changes * 1000) / perSecond;
      if (due > performance.now()) await sleep(due - performance.now());
      if (changes % 4 === 0) {
        await db.query(
          `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
           VALUES (gen_random_uuid(), 'bench-writer', 'bench-job-1', '2026-11-23', '/data/writer/' || $1, 'Received', 'writer')`,
          [`${changes}-${randomBytes(4).toString('hex')}`],
        );
      } else {
        await db.query(
          `UPDATE backup_requests SET status = CASE status WHEN 'Received' THEN 'Allowed' WHEN 'Allowed' THEN 'Sent' ELSE 'Succeeded' END
           WHERE backup_request_id = (SELECT backup_request_id FROM backup_requests WHERE in_pipeline ORDER BY received_at LIMIT 1)`,
        );
      }
      changes += 1;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return changes;
    },
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = `lb_bench_health_${randomBytes(4).toString('hex')}`;
  const databaseUrl = withDatabase(server, database);
  const admin = new pg.Client({ connectionString: withDatabase(server, 'postgres') });
  await admin.connect();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'bench health-1m' });
  const azurite = await startAzurite();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const prefix = `lbbench-${randomBytes(4).toString('hex')}`;
  const queues = Object.values(QUEUES).map((name) => createRequestQueue(name, redis, prefix, () => {}));
  try {
    await prepareDatabase(databaseUrl);
    const interfaceQueues = createInterfaceQueues({ connectionString: azurite.connectionString, requestQueue: 'backup-requests', statusQueue: 'backup-statuses', poisonQueue: 'backup-statuses-poison' });
    await Promise.all(Object.values(interfaceQueues).map((queue) => queue.ensureExists()));
    // (counting from the start again once the table is full, below)
    let collectionCounts = new RequestCounts();
    const collect = () =>
      collectHealth({
        db,
        requestCounts: collectionCounts,
        redis,
        interfaceQueues: Object.values(interfaceQueues),
        queues,
        instances: { read: () => readInstances(redis, prefix) },
        expectedApps: [],
        countersKey: countersKey(prefix),
        leader: () => null,
      });

    // what a collection costs whatever the table holds (an empty instance registry), on the empty table
    const baseline: number[] = [];
    for (let i = 0; i < READS; i += 1) {
      await sleep(100);
      baseline.push((await timed(collect)).ms);
    }
    console.log(`Whole health collection, empty table: p50 ${summary(baseline).p50} ms`);
    console.log(`Filling ${database} with ${REQUESTS} requests (${OPEN} open) and their history ...`);
    const filled = await timed(async () => {
      await db.query('ALTER TABLE backup_requests DISABLE TRIGGER backup_requests_status_history_on_insert');
      for (let from = 1; from <= REQUESTS; from += CHUNK) await fill(db, from, Math.min(REQUESTS, from + CHUNK - 1));
      await db.query('ALTER TABLE backup_requests ENABLE TRIGGER backup_requests_status_history_on_insert');
      await db.query('VACUUM ANALYZE backup_requests');
      await db.query('VACUUM ANALYZE backup_request_status_history');
    });
    const { rows: sizes } = await db.query<{ history: number; mb: number }>(
      `SELECT (SELECT count(*)::int FROM backup_request_status_history) AS history,
         round((pg_total_relation_size('backup_requests') + pg_total_relation_size('backup_request_status_history')) / 1048576.0) AS mb`,
    );
    console.log(`  ${round(filled.ms / 1000)} s: ${sizes[0]!.history} history rows, ${sizes[0]!.mb} MB with indexes`);

    const wholeTable: number[] = [];
    for (let i = 0; i < 3; i += 1) wholeTable.push((await timed(() => countAllRequests(db))).ms);
    console.log(`Whole-table count (before issue 12): ${wholeTable.map((ms) => round(ms)).join(', ')} ms`);

    const counts = new RequestCounts();
    const start = await timed(() => counts.read(db));
    console.log(`Request counts, starting count (once, when the collector starts): ${round(start.ms)} ms`);
    collectionCounts = new RequestCounts();
    await collectionCounts.read(db);

    console.log(`${READS} reads, one a second, while requests change at ${TRANSITIONS_PER_S}/s ...`);
    const writer = startWriter(db, TRANSITIONS_PER_S);
    const reads: number[] = [];
    const collections: number[] = [];
    for (let i = 0; i < READS; i += 1) {
      await sleep(1000);
      reads.push((await timed(() => counts.read(db))).ms);
      collections.push((await timed(collect)).ms);
    }
    const changes = await writer.stop();
    const [ours, table] = [await counts.read(db), await countAllRequests(db)];
    const exact = JSON.stringify(ours.byStatus) === JSON.stringify(table.byStatus);

    const figures = {
      wholeTableCountMs: summary(wholeTable),
      startingCountMs: round(start.ms, 2),
      readMs: summary(reads),
      collectionMs: summary(collections),
      emptyTableCollectionMs: summary(baseline),
      changesDuringReads: changes,
      exact,
      targetMs: TARGET_MS,
      // the median: the tails come from the machine (the empty table's collections have them too)
      met: summary(collections).p50 <= TARGET_MS,
    };
    console.log(`\nRequest counts per read: p50 ${figures.readMs.p50} ms, p95 ${figures.readMs.p95} ms, max ${figures.readMs.max} ms`);
    console.log(`Whole health collection: p50 ${figures.collectionMs.p50} ms (empty table: ${figures.emptyTableCollectionMs.p50} ms), p95 ${figures.collectionMs.p95} ms, max ${figures.collectionMs.max} ms (target ≤ ${TARGET_MS} ms at p50: ${figures.met ? 'met' : 'MISSED'})`);
    console.log(`  empty table: p95 ${figures.emptyTableCollectionMs.p95} ms, max ${figures.emptyTableCollectionMs.max} ms`);
    console.log(`Counts after ${changes} changes equal a count of the table: ${exact ? 'yes' : `NO (${JSON.stringify(ours.byStatus)} vs ${JSON.stringify(table.byStatus)})`}`);
    console.log(`Load average now ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
    const file = await saveResults('health-1m', startedAt, {
      startedAt,
      settings: { requests: REQUESTS, open: OPEN, reads: READS, transitionsPerSecond: TRANSITIONS_PER_S, historyRows: sizes[0]!.history, node: process.version },
      loadAverage: loadavg(),
      figures,
      readsMs: reads.map((ms) => round(ms, 2)),
      collectionsMs: collections.map((ms) => round(ms, 2)),
    });
    console.log(`Results: ${file}`);
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    redis.disconnect();
    await db.end();
    await azurite.stop();
    if (values.keep) console.log(`Kept the database ${databaseUrl}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
