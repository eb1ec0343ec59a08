import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMinuteStatistics } from '@linebacker/db';
import type { RequestStatus } from '@linebacker/domain';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * GET /api/v1/ops/statistics, what the operator dashboard charts: per minute of the last hour the
 * requests accepted, the outcomes and the p50/p95 of each stage, read from the status history
 * (libs/db minute-statistics.ts) at a cost that follows the rows of the window, not the table; and
 * the queue depths the health leader samples.
 */

const MINUTE = 60_000;
const floorMinute = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let receiver: TestReceiver;
let operator: TestApiClient;
let reader: TestApiClient;
const prefix = testQueuePrefix();

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, prefix, {
    LINEBACKER_STATISTICS_REFRESH_MS: '1000',
    LINEBACKER_QUEUE_DEPTH_SAMPLE_MS: '1000',
  }));
  operator = await createTestApiClient(db.databaseUrl, ['ops:read', 'requests:write'], 'operator');
  reader = await createTestApiClient(db.databaseUrl, ['requests:read', 'requests:write'], 'reader');
});

afterAll(async () => {
  await receiver?.close();
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

const STEP_COLUMN: Partial<Record<RequestStatus, string>> = { Allowed: 'checked_at', NotAllowed: 'checked_at', Sent: 'sent_at' };

/**
 * Status changes written as the pipeline would (the trigger writes the history), one at a time in
 * the order of their times, then dated: the history row and the request's step timestamp get the
 * change's time. So, as in production, history ids grow with `at`. A change is [request, status,
 * time]; a request's first change must be Received.
 */
async function writeChanges(pool: pg.Pool, changes: [string, RequestStatus, number][]): Promise<void> {
  for (const [key, status, at] of [...changes].sort((x, y) => x[2] - y[2])) {
    const id = requestIds.get(key) ?? randomUUID();
    requestIds.set(key, id);
    if (status === 'Received') {
      await pool.query(
        `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id, received_at)
         VALUES ($1, 'statistics-client', 'statistics-job', '2026-01-15', $2, 'Received', 'trace', $3)`,
        [id, `/data/statistics/${key}`, new Date(at)],
      );
    } else {
      const column = STEP_COLUMN[status];
      await pool.query(`UPDATE backup_requests SET status = $2 ${column ? `, ${column} = $3` : ''} WHERE backup_request_id = $1`, [
        id,
        status,
        ...(column ? [new Date(at)] : []),
      ]);
    }
    await pool.query(
      `UPDATE backup_request_status_history SET at = $2
       WHERE id = (SELECT max(id) FROM backup_request_status_history WHERE backup_request_id = $1)`,
      [id, new Date(at)],
    );
  }
}
const requestIds = new Map<string, string>();
/** The minute the first test fills (read again through HTTP). */
let minuteA = 0;

/** The changes of one request: Received at `receivedAt`, then each step so many ms later. */
const request = (key: string, receivedAt: number, steps: [RequestStatus, number][]): [string, RequestStatus, number][] => [
  [key, 'Received', receivedAt],
  ...steps.map(([status, after]): [string, RequestStatus, number] => [key, status, receivedAt + after]),
];

describe('per-minute statistics from the status history', () => {
  it('counts outcomes and measures each stage, from its real start even before the window', async () => {
    const a = floorMinute(Date.now()) - 10 * MINUTE;
    const b = a + MINUTE;
    minuteA = a;
    await writeChanges(pool, [
      // minute a: four requests in, all checked, three sent; they finish in minute a or b
      ...request('r1', a + 1000, [['Allowed', 10], ['Sent', 110], ['Succeeded', 1110]]),
      ...request('r2', a + 2000, [['Allowed', 20], ['Sent', 220], ['Failed', 2220], ['Succeeded', 61_000]]), // a late success in b
      ...request('r3', a + 3000, [['Allowed', 30], ['Sent', 330], ['Succeeded', 60_330]]), // replied in b
      ...request('r4', a + 4000, [['NotAllowed', 40]]),
      // received two hours ago (outside the window), its reply lands in minute b
      ...request('r5', b - 2 * 3600_000, [['Allowed', 5], ['Sent', 15], ['Succeeded', 2 * 3600_000 + 500]]),
    ]);

    const minutes = await readMinuteStatistics(pool, new Date(a - MINUTE), new Date(b + MINUTE));
    expect(minutes.map((m) => m.minute)).toEqual([new Date(a).toISOString(), new Date(b).toISOString()]);
    const [inA, inB] = minutes;
    expect(inA).toMatchObject({ received: 4, succeeded: 1, failed: 1, notAllowed: 1 });
    // percentile_cont over 10, 20, 30, 40 ms: p50 25, p95 38.5
    expect(inA!.latency.check).toEqual({ count: 4, p50Ms: 25, p95Ms: 38.5 });
    expect(inA!.latency.send).toEqual({ count: 3, p50Ms: 200, p95Ms: 290 });
    expect(inA!.latency.reply).toEqual({ count: 2, p50Ms: 1500, p95Ms: 1950 });
    expect(inA!.latency.total).toEqual({ count: 3, p50Ms: 1110, p95Ms: 2109 });

    expect(inB).toMatchObject({ received: 0, succeeded: 3, failed: 0, notAllowed: 0 });
    // the late success after Failed is an arrival at Succeeded, but neither a reply nor a new total
    // r5's reply and whole request are measured from its Sent and Received two hours before
    expect(inB!.latency.reply).toEqual({ count: 2, p50Ms: (60_000 + 7_200_485) / 2, p95Ms: 6_843_460.8 });
    expect(inB!.latency.total).toEqual({ count: 2, p50Ms: (60_330 + 7_200_500) / 2, p95Ms: 6_843_491.5 });
    expect(inB!.latency.check).toBeUndefined();
  });

  it('reads the rows of the window only, however large the history (measured in buffers)', async () => {
    // a database of its own: 100,000 requests with 400,000 history rows two days old, then 20 recent ones
    const big = await createTestDatabase();
    const bigPool = new pg.Pool({ connectionString: big.databaseUrl, max: 2 });
    try {
      await fillAndMeasure(big, bigPool);
    } finally {
      await bigPool.end();
      await big.drop();
    }
  });
});

/** Fills `big` with a large old history and a few recent changes, then reads the recent minutes under auto_explain. */
async function fillAndMeasure(big: TestDatabase, pool: pg.Pool): Promise<void> {
  await pool.query(`ALTER TABLE backup_requests DISABLE TRIGGER USER`);
  try {
    await pool.query(
      `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id,
         received_at, checked_at, sent_at)
       SELECT gen_random_uuid(), 'old', 'old-job', '2026-01-01', '/data/old/' || g, 'Succeeded', 'trace',
         now() - interval '2 days' + g * interval '1 second', now() - interval '2 days' + g * interval '1 second',
         now() - interval '2 days' + g * interval '1 second'
       FROM generate_series(1, 100000) g`,
    );
    await pool.query(
      `INSERT INTO backup_request_status_history (backup_request_id, status, previous_status, at)
       SELECT r.backup_request_id, p.status, p.previous, r.received_at
       FROM backup_requests r, (VALUES (1, 'Received', NULL), (2, 'Allowed', 'Received'), (3, 'Sent', 'Allowed'), (4, 'Succeeded', 'Sent'))
         AS p (step, status, previous)
       WHERE r.requester_id = 'old' ORDER BY r.received_at, p.step`,
    );
  } finally {
    await pool.query(`ALTER TABLE backup_requests ENABLE TRIGGER USER`);
  }
  // as autovacuum or the health leader's summarizing would have done (statistics.ts)
  await pool.query(`VACUUM ANALYZE backup_request_status_history`);
  const recent = floorMinute(Date.now()) - 3 * MINUTE;
  await writeChanges(
    pool,
    Array.from({ length: 20 }, (_, i) => request(`recent-${i}`, recent + i * 1000, [['Allowed', 10], ['Sent', 20], ['Succeeded', 520]])).flat(),
  );

  const { rows } = await pool.query<{ pages: number }>(`SELECT pg_relation_size('backup_request_status_history') / 8192 AS pages`);
  const tablePages = Number(rows[0]!.pages);
  expect(tablePages).toBeGreaterThan(2500);

  const buffers: number[] = [];
  const explained = new pg.Pool({
    connectionString: big.databaseUrl,
    max: 1,
    options: ['session_preload_libraries=auto_explain', 'auto_explain.log_min_duration=0', 'auto_explain.log_analyze=on', 'auto_explain.log_buffers=on', 'auto_explain.log_format=json', 'auto_explain.log_level=notice']
      .map((setting) => `-c ${setting}`)
      .join(' '),
  });
  explained.on('connect', (client) =>
    client.on('notice', (notice) => {
      const json = notice.message?.split('plan:\n')[1];
      if (!json) return;
      const plan = (JSON.parse(json) as { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }).Plan;
      buffers.push(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']);
    }),
  );
  let minutes;
  try {
    minutes = await readMinuteStatistics(explained, new Date(recent), new Date(recent + 2 * MINUTE));
  } finally {
    await explained.end();
  }
  expect(minutes.reduce((sum, m) => sum + m.succeeded, 0)).toBe(20);
  expect(buffers.length).toBeGreaterThan(0);
  const statementBuffers = Math.max(...buffers);
  // reading from the first id would touch every page (measured: 4,195 buffers of 3,923 pages); the
  // search's ~20 probes, the rows of the window and their requests' rows about 540
  expect(statementBuffers).toBeLessThan(tablePages / 4);
}

describe('GET /api/v1/ops/statistics', () => {
  const path = '/api/v1/ops/statistics';

  it('answers the last 60 minutes to ops:read (token or browser session), 403 without it', async () => {
    const answer = await call(receiver.url, 'GET', path, { token: operator.apiKey });
    expect(answer.status).toBe(200);
    expect(answer.body.minutes).toHaveLength(60);
    expect(Date.parse(answer.body.minutes[59].minute)).toBe(floorMinute(Date.parse(answer.body.generatedAt)));
    const filled = answer.body.minutes.find((m: { minute: string }) => Date.parse(m.minute) === minuteA);
    expect(filled).toMatchObject({ received: 4, succeeded: 1, failed: 1, notAllowed: 1 });

    expect((await call(receiver.url, 'GET', path, { token: reader.apiKey })).status).toBe(403);
    const signIn = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: operator.apiKey } });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call(receiver.url, 'GET', path, { headers: { cookie } })).status).toBe(200);
  });

  it('is computed once per refresh period for every dashboard and every receiver, then catches up', async () => {
    const first = await call(receiver.url, 'GET', path, { token: operator.apiKey });
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => call(receiver.url, 'GET', path, { token: operator.apiKey })));
    const generated = new Set([first, ...concurrent].map((answer) => answer.body.generatedAt as string));
    expect(generated.size).toBeLessThanOrEqual(2); // a refresh period may end between the calls

    // a second receiver of the same cluster answers from the computation shared in Redis
    const other = await startTestReceiver({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: prefix, LINEBACKER_STATISTICS_REFRESH_MS: '5000', AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
    try {
      const latest = await call(receiver.url, 'GET', path, { token: operator.apiKey });
      const fromOther = await call(other.url, 'GET', path, { token: operator.apiKey });
      expect(fromOther.body.generatedAt).toBe(latest.body.generatedAt);
    } finally {
      await other.close();
    }

    // a request accepted now shows in the current minute after the next refresh
    const receivedLately = async () => {
      const { minutes } = (await call(receiver.url, 'GET', path, { token: operator.apiKey })).body as { minutes: { minute: string; received: number }[] };
      const since = floorMinute(Date.now()) - MINUTE;
      return minutes.reduce((sum, m) => sum + (Date.parse(m.minute) >= since ? m.received : 0), 0);
    };
    const before = await receivedLately();
    const posted = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
      token: operator.apiKey,
      json: { backupJobId: 'statistics-job', dataDate: '2026-01-15', backupDataLocation: '/data/now' },
    });
    expect(posted.status).toBe(202);
    await expect.poll(receivedLately, { timeout: 5000 }).toBe(before + 1);
  });

  it('charts the queue depths the health leader samples', async () => {
    for (let i = 0; i < 2; i += 1) {
      const posted = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
        token: operator.apiKey,
        json: { backupJobId: 'statistics-job', dataDate: '2026-01-15', backupDataLocation: `/data/depth/${i}` },
      });
      expect(posted.status).toBe(202);
    }
    // nothing consumes `created` here: the three requests posted by this file wait in it
    await expect
      .poll(
        async () => {
          const { samples } = (await call(receiver.url, 'GET', path, { token: operator.apiKey })).body.queueDepth as {
            samples: { queues: Record<string, { waiting: number }> }[];
          };
          return samples.at(-1)?.queues.created?.waiting;
        },
        { timeout: 10_000 },
      )
      .toBe(3);
    const { queueDepth } = (await call(receiver.url, 'GET', path, { token: operator.apiKey })).body;
    expect(queueDepth.sampleSeconds).toBe(1);
    const times = (queueDepth.samples as { at: string }[]).map((sample) => Date.parse(sample.at));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(times.at(-1)! - times[0]!).toBeLessThan(3600_000);
  });
});
