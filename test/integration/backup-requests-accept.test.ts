import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '@linebacker/queues';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const today = new Date().toISOString().slice(0, 10);
const PATH = '/api/v1/backup-requests';

let db: TestDatabase;
let pool: pg.Pool;
let receiver: TestReceiver;
let redis: Redis;
let created: Queue;
let writer: TestApiClient;
let readOnly: TestApiClient;
let location = 0;

/** A valid body with a location of its own, so tests never collide as duplicates by accident. */
const body = (overrides: Record<string, unknown> = {}) => ({
  backupJobId: 'nightly-db',
  dataDate: today,
  backupDataLocation: `/data/prepared/${++location}`,
  ...overrides,
});

const post = (json: unknown, options: { token?: string; headers?: Record<string, string> } = {}) =>
  call(receiver.url, 'POST', PATH, { token: writer.apiKey, json, ...options });

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  const prefix = testQueuePrefix();
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: prefix,
  });
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  created = new Queue(QUEUES.created, { connection: redis, prefix });
  writer = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'writer');
  readOnly = await createTestApiClient(db.databaseUrl, ['requests:read'], 'reader');
});

afterAll(async () => {
  await receiver?.close();
  await created?.close();
  redis?.disconnect();
  await pool?.end();
  await db?.drop();
});

describe('POST /api/v1/backup-requests', () => {
  it('answers 202 Received with a Location, after storing the row, its history and the created job', async () => {
    const sent = body();
    const response = await post(sent, { headers: { 'x-request-id': 'trace-abc-123' } });

    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const request = response.body;
    expect(request).toMatchObject({ ...sent, status: 'Received', requesterId: writer.clientId, traceId: 'trace-abc-123' });
    expect(request.backupRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(request.receivedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(request).toMatchObject({ checkedAt: null, sentAt: null, repliedAt: null, statusReason: null });
    expect(response.headers.get('location')).toBe(`${PATH}/${request.backupRequestId}`);
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');

    const { rows } = await pool.query(
      `SELECT status, requester_id, backup_job_id, to_char(data_date, 'YYYY-MM-DD') AS data_date, backup_data_location, trace_id
       FROM backup_requests WHERE backup_request_id = $1`,
      [request.backupRequestId],
    );
    expect(rows).toEqual([
      {
        status: 'Received',
        requester_id: writer.clientId,
        backup_job_id: sent.backupJobId,
        data_date: sent.dataDate,
        backup_data_location: sent.backupDataLocation,
        trace_id: 'trace-abc-123',
      },
    ]);
    const history = await pool.query('SELECT status, reason FROM backup_request_status_history WHERE backup_request_id = $1', [
      request.backupRequestId,
    ]);
    expect(history.rows).toEqual([{ status: 'Received', reason: null }]);

    const job = await created.getJob(request.backupRequestId);
    expect(job?.id).toBe(request.backupRequestId);
    expect(job?.data).toEqual({ backupRequestId: request.backupRequestId, traceId: 'trace-abc-123', receivedAt: request.receivedAt });
  });

  it('takes the trace id from a W3C traceparent header', async () => {
    const response = await post(body(), {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    expect(response.status).toBe(202);
    expect(response.body.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('accepts the legacy apiVersion and ignores fields it does not read, such as requesterId', async () => {
    const response = await post(body({ apiVersion: '2022-05-22', requesterId: 'someone-else' }));
    expect(response.status).toBe(202);
    expect(response.body.requesterId).toBe(writer.clientId);
  });

  it('answers 200 with the existing request for a duplicate, and 202 again once that one is NotAllowed or Failed', async () => {
    const sent = body();
    const first = await post(sent);
    const second = await post(sent);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.backupRequestId).toBe(first.body.backupRequestId);
    expect(second.headers.get('location')).toBe(`${PATH}/${first.body.backupRequestId}`);

    for (const finalStatus of ['NotAllowed', 'Failed']) {
      const live = await post(sent);
      await pool.query('UPDATE backup_requests SET status = $2 WHERE backup_request_id = $1', [live.body.backupRequestId, finalStatus]);
      const retry = await post(sent);
      expect(retry.status).toBe(202);
      expect(retry.body.backupRequestId).not.toBe(live.body.backupRequestId);
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM backup_requests WHERE backup_data_location = $1', [
      sent.backupDataLocation,
    ]);
    expect(rows[0].n).toBe(3);
  });

  it('treats a request by another client, or for another date, as a different request', async () => {
    const sent = body();
    const other = await createTestApiClient(db.databaseUrl, ['requests:write'], 'other');
    const mine = await post(sent);
    const theirs = await post(sent, { token: other.apiKey });
    const otherDate = await post({ ...sent, dataDate: '2020-01-01' });
    expect([mine.status, theirs.status, otherDate.status]).toEqual([202, 202, 202]);
    expect(new Set([mine.body.backupRequestId, theirs.body.backupRequestId, otherDate.body.backupRequestId]).size).toBe(3);
  });

  it('creates exactly one request when the same POST arrives many times at once', async () => {
    const sent = body();
    const responses = await Promise.all(Array.from({ length: 12 }, () => post(sent)));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(11);
    expect(new Set(responses.map((r) => r.body.backupRequestId)).size).toBe(1);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM backup_requests WHERE backup_data_location = $1', [
      sent.backupDataLocation,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('names every invalid field in one 400 problem', async () => {
    const response = await post({ backupJobId: 'bad id!', dataDate: '2026-02-30', backupDataLocation: 'a\u0000b', apiVersion: 'v9' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 400, title: expect.any(String), detail: expect.any(String) });
    expect(response.body.type).toMatch(/validation/);
    expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'apiVersion',
      'backupDataLocation',
      'backupJobId',
      'dataDate',
    ]);
  });

  it('answers 400 for missing fields, a date too far in the future, an empty body and malformed JSON', async () => {
    const missing = await post({});
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toHaveLength(3);

    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const tooLate = await post(body({ dataDate: future }));
    expect(tooLate.status).toBe(400);
    expect(tooLate.body.errors.map((e: { field: string }) => e.field)).toEqual(['dataDate']);

    const empty = await call(receiver.url, 'POST', PATH, { token: writer.apiKey });
    expect(empty.status).toBe(400);

    const malformed = await call(receiver.url, 'POST', PATH, {
      token: writer.apiKey,
      body: '{"backupJobId": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 401 without a token and 403 without the requests:write scope, storing nothing', async () => {
    const before = await pool.query('SELECT count(*)::int AS n FROM backup_requests');
    const anonymous = await call(receiver.url, 'POST', PATH, { json: body() });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const forbidden = await post(body(), { token: readOnly.apiKey });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.detail).toMatch(/requests:write/);
    const after = await pool.query('SELECT count(*)::int AS n FROM backup_requests');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('answers 413 for a body over 16 KiB and 415 for a body that is not JSON', async () => {
    const huge = await post(body({ padding: 'x'.repeat(16 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const text = await call(receiver.url, 'POST', PATH, {
      token: writer.apiKey,
      body: JSON.stringify(body()),
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('Idempotency-Key', () => {
  it('returns the original response for the same key and body, even after the request moved on', async () => {
    const sent = body();
    const headers = { 'idempotency-key': randomUUID() };
    const first = await post(sent, { headers });
    await pool.query(`UPDATE backup_requests SET status = 'Failed' WHERE backup_request_id = $1`, [first.body.backupRequestId]);
    const again = await post(sent, { headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
  });

  it('answers 422 for the same key with a different body, and keeps keys per client', async () => {
    const headers = { 'idempotency-key': randomUUID() };
    const first = await post(body(), { headers });
    const reused = await post(body(), { headers });
    expect(first.status).toBe(202);
    expect(reused.status).toBe(422);
    expect(reused.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const other = await createTestApiClient(db.databaseUrl, ['requests:write'], 'other-key-user');
    const sameKeyOtherClient = await post(body(), { token: other.apiKey, headers });
    expect(sameKeyOtherClient.status).toBe(202);
  });

  it('gives one answer to concurrent requests with the same key and body', async () => {
    const sent = body();
    const headers = { 'idempotency-key': randomUUID() };
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(sent, { headers })));
    expect(new Set(responses.map((r) => r.body.backupRequestId)).size).toBe(1);
    expect(responses.every((r) => r.status === 202 || r.status === 200)).toBe(true);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM backup_requests WHERE backup_data_location = $1', [
      sent.backupDataLocation,
    ]);
    expect(rows[0].n).toBe(1);
  });
});
