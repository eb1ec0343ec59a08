import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type ApiResponse, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { walkStatuses } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const today = new Date().toISOString().slice(0, 10);
const PATH = '/api/v1/backup-requests';

let db: TestDatabase;
let pool: pg.Pool;
let receiver: TestReceiver;
let location = 0;

/** A valid body with a location of its own, so no two POSTs are duplicates by accident. */
const body = (overrides: Record<string, unknown> = {}) => ({
  backupJobId: 'job-1',
  dataDate: today,
  backupDataLocation: `/data/x/${++location}`,
  ...overrides,
});

async function postRequest(client: TestApiClient, overrides: Record<string, unknown> = {}): Promise<ApiResponse> {
  const response = await call(receiver.url, 'POST', PATH, { token: client.apiKey, json: body(overrides) });
  expect(response.status).toBe(202);
  return response;
}

/** Posts `count` requests one after the other; returns their ids, oldest first. */
async function postRequests(client: TestApiClient, count: number, overrides: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) ids.push((await postRequest(client, overrides)).body.backupRequestId);
  return ids;
}

const list = (client: TestApiClient, query = '') => call(receiver.url, 'GET', `${PATH}${query}`, { token: client.apiKey });

const idsOf = (response: ApiResponse): string[] => response.body.items.map((item: { backupRequestId: string }) => item.backupRequestId);

const setStatus = (ids: string[], status: string) =>
  pool.query('UPDATE backup_requests SET status = $2 WHERE backup_request_id = ANY($1::uuid[])', [ids, status]);

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
  });
});

afterAll(async () => {
  await receiver?.close();
  await pool?.end();
  await db?.drop();
});

describe('GET /api/v1/backup-requests/{id}', () => {
  let owner: TestApiClient;
  let stranger: TestApiClient;
  let admin: TestApiClient;
  let writeOnly: TestApiClient;

  beforeAll(async () => {
    owner = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'owner');
    stranger = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'stranger');
    admin = await createTestApiClient(db.databaseUrl, ['requests:read', 'jobs:admin'], 'admin');
    writeOnly = await createTestApiClient(db.databaseUrl, ['requests:write'], 'write-only');
  });

  it('answers 200 with every field of the request and its history for the owner', async () => {
    const sent = body();
    const posted = await call(receiver.url, 'POST', PATH, {
      token: owner.apiKey,
      json: sent,
      headers: { 'x-request-id': 'read-trace-1' },
    });
    expect(posted.status).toBe(202);

    const response = await call(receiver.url, 'GET', posted.headers.get('location') ?? '', { token: owner.apiKey });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const request = response.body;
    expect(request).toEqual({
      backupRequestId: posted.body.backupRequestId,
      backupJobId: sent.backupJobId,
      dataDate: sent.dataDate,
      backupDataLocation: sent.backupDataLocation,
      requesterId: owner.clientId,
      status: 'Received',
      statusReason: null,
      receivedAt: posted.body.receivedAt,
      checkedAt: null,
      sentAt: null,
      repliedAt: null,
      backupProviderCode: null,
      storagePathName: null,
      traceId: 'read-trace-1',
      history: [{ status: 'Received', at: expect.any(String), reason: null }],
    });
    expect(request.receivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(request.history[0].at).toBe(request.receivedAt);
  });

  it('shows the fields set by later steps and the whole history in order', async () => {
    const id = (await postRequest(owner)).body.backupRequestId;
    await pool.query(
      `UPDATE backup_requests SET checked_at = now(), sent_at = now(), replied_at = now(),
         backup_provider_code = 'CloudA', storage_path_name = '/store/a'
       WHERE backup_request_id = $1`,
      [id],
    );
    await walkStatuses(pool, id, ['Allowed', 'Sent', 'Failed'], 'disk full');

    const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: owner.apiKey });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'Failed',
      statusReason: 'disk full',
      backupProviderCode: 'CloudA',
      storagePathName: '/store/a',
      checkedAt: expect.stringMatching(/Z$/),
      sentAt: expect.stringMatching(/Z$/),
      repliedAt: expect.stringMatching(/Z$/),
    });
    expect(response.body.history.map((h: { status: string; reason: string | null }) => [h.status, h.reason])).toEqual([
      ['Received', null],
      ['Allowed', null],
      ['Sent', null],
      ['Failed', 'disk full'],
    ]);
  });

  it("answers 404 problem for another client's request, without revealing it", async () => {
    const id = (await postRequest(owner)).body.backupRequestId;

    const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: stranger.apiKey });

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 404, title: expect.any(String), type: expect.stringMatching(/not-found/) });
    expect(response.body).not.toHaveProperty('backupRequestId');
    expect(JSON.stringify(response.body)).not.toContain(owner.clientId);
  });

  it("answers 200 for another client's request when the caller has the jobs:admin scope", async () => {
    const id = (await postRequest(owner)).body.backupRequestId;

    const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: admin.apiKey });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ backupRequestId: id, requesterId: owner.clientId, status: 'Received' });
    expect(response.body.history).toHaveLength(1);

    const adminOnly = await createTestApiClient(db.databaseUrl, ['jobs:admin'], 'admin-only');
    const byAdminScopeAlone = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: adminOnly.apiKey });
    expect(byAdminScopeAlone.status).toBe(200);
  });

  it('answers 404 problem for an unknown UUID and for an id that is not a UUID', async () => {
    for (const id of [randomUUID(), 'not-a-uuid', '12345', `${randomUUID()}x`]) {
      const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: owner.apiKey });
      expect(response.status, id).toBe(404);
      expect(response.headers.get('content-type'), id).toMatch(/^application\/problem\+json/);
      expect(response.body, id).toMatchObject({ status: 404, detail: expect.any(String) });
    }
  });

  it('answers 400 problem, not 500, for a path that is not valid percent-encoding', async () => {
    const response = await call(receiver.url, 'GET', `${PATH}/%FF`, { token: owner.apiKey });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 403 problem when the token lacks requests:read, even for its own request', async () => {
    const id = (await postRequest(writeOnly)).body.backupRequestId;

    const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: writeOnly.apiKey });

    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 403, detail: expect.stringMatching(/requests:read/) });
  });
});

describe('GET /api/v1/backup-requests', () => {
  it("lists only the caller's requests, newest first", async () => {
    const mine = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'lister');
    const theirs = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'neighbour');
    const myIds: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      myIds.push((await postRequest(mine)).body.backupRequestId);
      await postRequest(theirs);
    }

    const response = await list(mine);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(idsOf(response)).toEqual([...myIds].reverse());
    expect(response.body.nextCursor).toBeNull();
    for (const item of response.body.items) {
      expect(item).toMatchObject({ requesterId: mine.clientId, status: 'Received', backupJobId: 'job-1' });
      expect(item).not.toHaveProperty('history');
    }
  });

  it('answers an empty page to a client with no requests', async () => {
    const newcomer = await createTestApiClient(db.databaseUrl, ['requests:read'], 'newcomer');
    const response = await list(newcomer);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], nextCursor: null });
  });

  it('pages 7 requests with limit=3 as 3 + 3 + 1, without overlap, ending with nextCursor null', async () => {
    const pager = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'pager');
    const ids = await postRequests(pager, 7);

    const first = await list(pager, '?limit=3');
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await list(pager, `?limit=3&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.status).toBe(200);
    expect(second.body.nextCursor).toEqual(expect.any(String));
    const third = await list(pager, `?limit=3&cursor=${encodeURIComponent(second.body.nextCursor)}`);
    expect(third.status).toBe(200);

    expect([first, second, third].map((page) => page.body.items.length)).toEqual([3, 3, 1]);
    expect(third.body.nextCursor).toBeNull();
    const seen = [...idsOf(first), ...idsOf(second), ...idsOf(third)];
    expect(new Set(seen).size).toBe(7);
    expect(seen).toEqual([...ids].reverse());
  });

  it('does not offer a next page when the last page is exactly full', async () => {
    const exact = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'exact');
    await postRequests(exact, 4);

    const first = await list(exact, '?limit=2');
    const second = await list(exact, `?limit=2&cursor=${first.body.nextCursor}`);

    expect(second.body.items).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
  });

  describe('filters', () => {
    let filterer: TestApiClient;
    let received: string[];
    let allowed: string[];
    let notAllowed: string[];
    let otherJob: string[];
    let old: string[];

    beforeAll(async () => {
      filterer = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'filterer');
      received = await postRequests(filterer, 2);
      allowed = await postRequests(filterer, 3);
      notAllowed = await postRequests(filterer, 1);
      otherJob = await postRequests(filterer, 2, { backupJobId: 'job-2' });
      old = await postRequests(filterer, 2);
      await setStatus(allowed, 'Allowed');
      await setStatus(notAllowed, 'NotAllowed');
      await pool.query(`UPDATE backup_requests SET received_at = '2020-01-15T12:00:00Z' WHERE backup_request_id = ANY($1::uuid[])`, [
        old,
      ]);
    });

    it('status= returns only the requests in that status', async () => {
      const onlyAllowed = await list(filterer, '?status=Allowed');
      expect(onlyAllowed.status).toBe(200);
      expect(idsOf(onlyAllowed)).toEqual([...allowed].reverse());
      expect(onlyAllowed.body.items.every((item: { status: string }) => item.status === 'Allowed')).toBe(true);

      const onlyNotAllowed = await list(filterer, '?status=NotAllowed');
      expect(idsOf(onlyNotAllowed)).toEqual(notAllowed);

      const none = await list(filterer, '?status=Succeeded');
      expect(none.body).toEqual({ items: [], nextCursor: null });
    });

    it('status= pages with the cursor too', async () => {
      const first = await list(filterer, '?status=Allowed&limit=2');
      const second = await list(filterer, `?status=Allowed&limit=2&cursor=${first.body.nextCursor}`);
      expect([...idsOf(first), ...idsOf(second)]).toEqual([...allowed].reverse());
      expect(second.body.nextCursor).toBeNull();
    });

    it('backupJobId= returns only the requests for that job', async () => {
      const response = await list(filterer, '?backupJobId=job-2');
      expect(response.status).toBe(200);
      expect(idsOf(response)).toEqual([...otherJob].reverse());
      expect(response.body.items.every((item: { backupJobId: string }) => item.backupJobId === 'job-2')).toBe(true);
    });

    it('since= returns only the requests received at or after that time', async () => {
      const recent = [...received, ...allowed, ...notAllowed, ...otherJob].reverse();

      const sinceTimestamp = await list(filterer, `?since=${encodeURIComponent('2024-01-01T00:00:00Z')}`);
      expect(sinceTimestamp.status).toBe(200);
      expect(idsOf(sinceTimestamp)).toEqual(recent);

      // 13:00 at +02:00 is 11:00Z, before the old requests (12:00Z); 12:30Z is after them
      const sinceWithOffset = await list(filterer, `?since=${encodeURIComponent('2020-01-15T13:00:00+02:00')}`);
      expect(idsOf(sinceWithOffset)).toEqual([...old].reverse().concat(recent));
      const sinceJustAfterOld = await list(filterer, `?since=${encodeURIComponent('2020-01-15T12:30:00Z')}`);
      expect(idsOf(sinceJustAfterOld)).toEqual(recent);

      const sinceDate = await list(filterer, '?since=2020-01-16');
      expect(idsOf(sinceDate)).toEqual(recent);
    });

    it('combines filters', async () => {
      const response = await list(filterer, `?status=Received&backupJobId=job-1&since=${encodeURIComponent('2024-01-01T00:00:00Z')}`);
      expect(response.status).toBe(200);
      expect(idsOf(response)).toEqual([...received].reverse());
    });
  });

  it('answers one 400 problem naming every bad query field at once', async () => {
    const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'bad-query');

    const response = await list(client, '?limit=0&status=Bogus&since=yesterday&cursor=garbage');

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 400, title: expect.any(String), detail: expect.any(String) });
    expect(response.body.type).toMatch(/validation/);
    expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['cursor', 'limit', 'since', 'status']);
    for (const error of response.body.errors) expect(error.message).toEqual(expect.any(String));
  });

  it('answers 400 naming cursor, not 500, for a well-formed cursor beyond any position', async () => {
    const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'huge-cursor');
    // 19 digits but above the largest bigint
    const cursor = Buffer.from('9999999999999999999').toString('base64url');
    const response = await list(client, `?cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['cursor']);
  });

  it('answers 400 for other bad values of limit and backupJobId', async () => {
    const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'bad-values');
    for (const query of ['?limit=101', '?limit=2.5', '?limit=ten', '?backupJobId=no%20spaces']) {
      const response = await list(client, query);
      expect(response.status, query).toBe(400);
      expect(response.body.errors, query).toHaveLength(1);
    }
  });

  it('answers 403 problem when the token lacks requests:read', async () => {
    const writer = await createTestApiClient(db.databaseUrl, ['requests:write'], 'list-write-only');
    const response = await list(writer);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
