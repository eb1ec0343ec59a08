import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPIRING_ROWS } from '@linebacker/db';
import { countersKey, readCounters } from '@linebacker/queues';
import { MAX_BATCHES_PER_PASS, prune } from '../../apps/http-receiver/src/pruning/prune.js';
import { startTestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

// SPEC §6: tables that only grow for bookkeeping are pruned by the leader after a configurable
// time (issue 12). Rows are dated back by hand: a retention of an hour, not a wait of one.

let db: TestDatabase;
let pool: pg.Pool;

const HOUR = 3600;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** `n` idempotency keys saved `ageS` seconds ago; returns their keys. */
async function insertIdempotencyKeys(n: number, ageS: number): Promise<string[]> {
  const keys = Array.from({ length: n }, () => randomUUID());
  await pool.query(
    `INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash, response_status, response_body, created_at)
     SELECT 'prune-client', key, 'hash', 202, '{}', now() - make_interval(secs => $2) FROM unnest($1::text[]) AS key`,
    [keys, ageS],
  );
  return keys;
}

/** `n` rejected replies recorded `ageS` seconds ago; returns their request ids. */
async function insertRejectedReplies(n: number, ageS: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await pool.query(
    `INSERT INTO rejected_replies (backup_request_id, result_type_code, reason, reply, rejected_at)
     SELECT id, 'Succeeded', 'unknown backup request', '{}', now() - make_interval(secs => $2) FROM unnest($1::uuid[]) AS id`,
    [ids, ageS],
  );
  return ids;
}

/** `n` inbox replies stored and applied `ageS` seconds ago (or not applied: `ageS` null); returns their message ids. */
async function insertInboxReplies(n: number, ageS: number | null): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await pool.query(
    `INSERT INTO reply_inbox (source_queue, message_id, reply, received_at, applied_at, outcome)
     SELECT 'backup-statuses', id, '{}', now() - interval '30 days',
       CASE WHEN $2::int IS NULL THEN NULL ELSE now() - make_interval(secs => $2::int) END,
       CASE WHEN $2::int IS NULL THEN NULL ELSE 'record-backup' END
     FROM unnest($1::text[]) AS id`,
    [ids, ageS],
  );
  return ids;
}

/** `n` browser sessions that expired `ageS` seconds ago (negative: that still run); returns their hashes. */
async function insertSessions(n: number, ageS: number): Promise<string[]> {
  const hashes = Array.from({ length: n }, () => randomUUID());
  await pool.query(`INSERT INTO api_clients (client_id, name, scopes) VALUES ('prune-client', 'prune', '{ops:read}') ON CONFLICT DO NOTHING`);
  await pool.query(
    `INSERT INTO browser_sessions (session_hash, client_id, scopes, idle_expires_at, expires_at)
     SELECT hash, 'prune-client', '{ops:read}', now() - make_interval(secs => $2), now() - make_interval(secs => $2)
     FROM unnest($1::text[]) AS hash`,
    [hashes, ageS],
  );
  return hashes;
}
const remainingSessions = async (hashes: string[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM browser_sessions WHERE session_hash = ANY($1)', [hashes])).rows[0]!.n;

/** `n` status events written `ageS` seconds ago (as the trigger writes them, in id order); returns their request ids. */
async function insertEvents(n: number, ageS: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await pool.query(
    `INSERT INTO backup_request_events (backup_request_id, requester_id, backup_job_id, status, trace_id, at)
     SELECT id, 'prune-client', 'prune-job', 'Received', 'trace', now() - make_interval(secs => $2) FROM unnest($1::uuid[]) AS id`,
    [ids, ageS],
  );
  return ids;
}
const remainingEvents = async (ids: string[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_request_events WHERE backup_request_id = ANY($1)', [ids])).rows[0]!.n;

/** `n` webhook deliveries delivered (or failed, or still pending: `ageS` null) `ageS` seconds ago; returns their event ids. */
let nextEventId = 1;
async function insertDeliveries(n: number, ageS: number | null, how: 'delivered' | 'failed' = 'delivered'): Promise<number[]> {
  await pool.query(`INSERT INTO api_clients (client_id, name, scopes) VALUES ('prune-client', 'prune', '{ops:read}') ON CONFLICT DO NOTHING`);
  await pool.query(
    `INSERT INTO webhook_endpoints (endpoint_id, client_id, url, secret) VALUES ('00000000-0000-7000-8000-000000000001', 'prune-client', 'http://127.0.0.1:9/', 'whsec_x')
     ON CONFLICT DO NOTHING`,
  );
  const eventIds = Array.from({ length: n }, () => nextEventId++);
  const at = ageS === null ? null : `now() - make_interval(secs => ${ageS})`;
  await pool.query(
    `INSERT INTO webhook_deliveries (endpoint_id, event_id, body, created_at, delivered_at, failed_at)
     SELECT '00000000-0000-7000-8000-000000000001', id, '{}', now() - interval '2 days',
       ${how === 'delivered' && at ? at : 'NULL'}, ${how === 'failed' && at ? at : 'NULL'}
     FROM unnest($1::bigint[]) AS id`,
    [eventIds],
  );
  return eventIds;
}
const remainingDeliveries = async (eventIds: number[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_deliveries WHERE event_id = ANY($1)', [eventIds])).rows[0]!.n;

const remainingKeys = async (keys: string[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys WHERE idempotency_key = ANY($1)', [keys])).rows[0]!.n;
const remainingInboxRows = async (ids: string[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reply_inbox WHERE message_id = ANY($1)', [ids])).rows[0]!.n;
const remainingReplies = async (ids: string[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rejected_replies WHERE backup_request_id = ANY($1)', [ids])).rows[0]!.n;

describe('pruning by the leader (SPEC §6)', () => {
  it('deletes idempotency keys, rejected replies, applied inbox replies, expired browser sessions, status events and finished webhook deliveries older than their retention, keeps younger, unapplied, pending and live ones, and counts what it deleted', async () => {
    const oldKeys = await insertIdempotencyKeys(250, 2 * HOUR);
    const youngKeys = await insertIdempotencyKeys(20, HOUR / 2);
    const oldReplies = await insertRejectedReplies(30, 3 * HOUR);
    const youngReplies = await insertRejectedReplies(5, HOUR);
    const oldInbox = await insertInboxReplies(40, 2 * HOUR);
    const youngInbox = await insertInboxReplies(4, HOUR / 2);
    // received a month ago and never applied: reconciliation still owes them their jobs
    const unapplied = await insertInboxReplies(3, null);
    const oldSessions = await insertSessions(6, 2 * HOUR);
    const recentSessions = await insertSessions(2, HOUR / 2);
    const liveSessions = await insertSessions(2, -HOUR);
    // the outbox: oldest ids first, as the trigger writes them (pruned oldest-first by id)
    const oldEvents = await insertEvents(150, 2 * HOUR);
    const youngEvents = await insertEvents(7, HOUR / 2);
    const oldDeliveries = [...(await insertDeliveries(9, 2 * HOUR)), ...(await insertDeliveries(3, 2 * HOUR, 'failed'))];
    const youngDeliveries = await insertDeliveries(2, HOUR / 2);
    // created two days ago and not delivered yet: still being retried
    const pendingDeliveries = await insertDeliveries(4, null);
    const prefix = testQueuePrefix();
    const receiver = await startTestReceiver({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: testRedisUrl(),
      LINEBACKER_QUEUE_PREFIX: prefix,
      LINEBACKER_RECOVERY_DELAY_MS: '100',
      LINEBACKER_PRUNE_INTERVAL_MS: '200',
      LINEBACKER_PRUNE_BATCH_SIZE: '100',
      LINEBACKER_IDEMPOTENCY_KEY_RETENTION_S: String(HOUR),
      LINEBACKER_REJECTED_REPLY_RETENTION_S: String(2 * HOUR),
      LINEBACKER_APPLIED_REPLY_RETENTION_S: String(HOUR),
      LINEBACKER_EXPIRED_SESSION_RETENTION_S: String(HOUR),
      LINEBACKER_EVENT_RETENTION_S: String(HOUR),
      LINEBACKER_DELIVERY_RETENTION_S: String(HOUR),
    });
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    try {
      await expect.poll(() => remainingKeys(oldKeys), { timeout: 10_000 }).toBe(0);
      await expect.poll(() => remainingReplies(oldReplies), { timeout: 10_000 }).toBe(0);
      expect(await remainingKeys(youngKeys)).toBe(20);
      expect(await remainingReplies(youngReplies)).toBe(5);
      await expect.poll(() => remainingInboxRows(oldInbox), { timeout: 10_000 }).toBe(0);
      expect(await remainingInboxRows(youngInbox)).toBe(4);
      expect(await remainingInboxRows(unapplied)).toBe(3);
      await expect.poll(() => remainingSessions(oldSessions), { timeout: 10_000 }).toBe(0);
      expect(await remainingSessions([...recentSessions, ...liveSessions])).toBe(4);
      await expect.poll(() => remainingEvents(oldEvents), { timeout: 10_000 }).toBe(0);
      expect(await remainingEvents(youngEvents)).toBe(7);
      await expect.poll(() => remainingDeliveries(oldDeliveries), { timeout: 10_000 }).toBe(0);
      expect(await remainingDeliveries(youngDeliveries)).toBe(2);
      expect(await remainingDeliveries(pendingDeliveries)).toBe(4);
      // what the pipeline counters (and /metrics' linebacker_pruned_rows_total) say
      await expect
        .poll(async () => readCounters(redis, countersKey(prefix)), { timeout: 5000 })
        .toMatchObject({ 'pruned:idempotency_keys': 250, 'pruned:rejected_replies': 30, 'pruned:reply_inbox': 40, 'pruned:browser_sessions': 6, 'pruned:backup_request_events': 150, 'pruned:webhook_deliveries': 12 });
    } finally {
      await receiver.close();
      redis.disconnect();
    }
  });

  it('deletes in batches, at most MAX_BATCHES_PER_PASS per table in a pass, and goes on at the next pass', async () => {
    await insertIdempotencyKeys(250, 2 * HOUR);
    const warnings: unknown[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const keys = EXPIRING_ROWS.filter((rows) => rows.table === 'idempotency_keys');
    const pass = () => prune({ db: pool, retentionS: { idempotencyKeys: HOUR, rejectedReplies: HOUR, appliedReplies: HOUR, expiredSessions: HOUR, events: HOUR, deliveries: HOUR }, batchSize: 10, log, tables: keys });
    expect(await pass()).toEqual({ idempotency_keys: 10 * MAX_BATCHES_PER_PASS });
    expect(warnings).toEqual([expect.objectContaining({ table: 'idempotency_keys', deleted: 10 * MAX_BATCHES_PER_PASS, msg: expect.stringMatching(/behind/) })]);
    expect(await pass()).toEqual({ idempotency_keys: 250 - 10 * MAX_BATCHES_PER_PASS });
    expect(await pass()).toEqual({ idempotency_keys: 0 });
  });
});
