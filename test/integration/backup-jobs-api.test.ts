import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type ApiResponse, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const PATH = '/api/v1/backup-jobs';

let db: TestDatabase;
let pool: pg.Pool;
let receiver: TestReceiver;
let admin: TestApiClient;
let requestsOnly: TestApiClient;

const definition = (overrides: Record<string, unknown> = {}) => ({
  storagePathName: '/backups/nightly',
  backupProviderCode: 'CloudA',
  daysToKeep: 30,
  ...overrides,
});

const put = (id: string, json: unknown, token = admin.apiKey): Promise<ApiResponse> =>
  call(receiver.url, 'PUT', `${PATH}/${id}`, { token, json });

async function jobRow(id: string) {
  const { rows } = await pool.query(
    `SELECT backup_job_id, storage_path_name, backup_provider_code, days_to_keep, is_active, hold_flag,
       created_at, updated_at
     FROM backup_jobs WHERE backup_job_id = $1`,
    [id],
  );
  return rows;
}

const jobCount = async (): Promise<number> => (await pool.query('SELECT count(*)::int AS n FROM backup_jobs')).rows[0].n;

const expectProblem = (response: ApiResponse, status: number) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
};

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
  });
  admin = await createTestApiClient(db.databaseUrl, ['jobs:admin'], 'admin');
  requestsOnly = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'requests-only');
});

afterAll(async () => {
  await receiver?.close();
  await pool?.end();
  await db?.drop();
});

describe('PUT /api/v1/backup-jobs/{id}', () => {
  it('creates a job: 201 with a Location, defaults isActive true and holdFlag false, and stores the row', async () => {
    const response = await put('nightly-db', definition());

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('location')).toBe(`${PATH}/nightly-db`);
    expect(response.body).toEqual({
      backupJobId: 'nightly-db',
      storagePathName: '/backups/nightly',
      backupProviderCode: 'CloudA',
      daysToKeep: 30,
      isActive: true,
      holdFlag: false,
    });
    expect(await jobRow('nightly-db')).toEqual([
      {
        backup_job_id: 'nightly-db',
        storage_path_name: '/backups/nightly',
        backup_provider_code: 'CloudA',
        days_to_keep: 30,
        is_active: true,
        hold_flag: false,
        created_at: expect.any(Date),
        updated_at: expect.any(Date),
      },
    ]);
  });

  it('replaces an existing job: 200 with the new definition, still one row', async () => {
    const created = await put('weekly.files_1', definition());
    expect(created.status).toBe(201);
    const [before] = await jobRow('weekly.files_1');

    const replacement = { storagePathName: '/archive/weekly', backupProviderCode: 'Local', daysToKeep: 36500, isActive: false, holdFlag: true };
    const replaced = await put('weekly.files_1', replacement);

    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('location')).toBe(`${PATH}/weekly.files_1`);
    expect(replaced.body).toEqual({ backupJobId: 'weekly.files_1', ...replacement });
    const rows = await jobRow('weekly.files_1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      storage_path_name: '/archive/weekly',
      backup_provider_code: 'Local',
      days_to_keep: 36500,
      is_active: false,
      hold_flag: true,
      created_at: before.created_at,
    });
    expect(rows[0].updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
  });

  it('a replacement without isActive / holdFlag resets them to their defaults (PUT replaces the whole job)', async () => {
    await put('reset-me', definition({ isActive: false, holdFlag: true }));
    const replaced = await put('reset-me', definition());
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ isActive: true, holdFlag: false });
    expect((await jobRow('reset-me'))[0]).toMatchObject({ is_active: true, hold_flag: false });
  });

  it('answers one 400 problem naming the bad id in the path and every bad body field, storing nothing', async () => {
    const before = await jobCount();

    const response = await call(receiver.url, 'PUT', `${PATH}/bad%20id!`, {
      token: admin.apiKey,
      json: { storagePathName: '', backupProviderCode: 'Tape', daysToKeep: 0, isActive: 'yes', holdFlag: 1 },
    });

    expectProblem(response, 400);
    expect(response.body.type).toMatch(/validation/);
    expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'backupJobId',
      'backupProviderCode',
      'daysToKeep',
      'holdFlag',
      'isActive',
      'storagePathName',
    ]);
    expect(await jobCount()).toBe(before);
  });

  it('answers 400 for an id over 50 characters, out-of-range or fractional daysToKeep, and missing fields', async () => {
    const tooLong = await put('a'.repeat(51), definition());
    expectProblem(tooLong, 400);
    expect(tooLong.body.errors.map((e: { field: string }) => e.field)).toEqual(['backupJobId']);

    for (const daysToKeep of [36501, 1.5, '30']) {
      const response = await put('days-check', definition({ daysToKeep }));
      expectProblem(response, 400);
      expect(response.body.errors.map((e: { field: string }) => e.field), String(daysToKeep)).toEqual(['daysToKeep']);
    }

    const empty = await put('empty-body', {});
    expectProblem(empty, 400);
    expect(empty.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'backupProviderCode',
      'daysToKeep',
      'storagePathName',
    ]);

    const notAnObject = await put('array-body', [definition()]);
    expectProblem(notAnObject, 400);

    expect(await jobRow('days-check')).toEqual([]);
    expect(await jobRow('a'.repeat(51))).toEqual([]);
  });

  it('answers 400 naming storagePathName, never 500, for control characters or text that is not Unicode', async () => {
    for (const storagePathName of ['nul\u0000byte', 'tab\there', 'esc\u001b[31m', 'c1\u0085', 'lone \ud800 surrogate']) {
      const response = await put('control-check', definition({ storagePathName }));
      expectProblem(response, 400);
      expect(response.body.errors.map((e: { field: string }) => e.field), JSON.stringify(storagePathName)).toEqual(['storagePathName']);
    }
    // the same as raw JSON escapes, as a client would send them
    const raw = await call(receiver.url, 'PUT', `${PATH}/control-check`, {
      token: admin.apiKey,
      body: '{"storagePathName":"a\\u0000b","backupProviderCode":"Local","daysToKeep":1}',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(raw, 400);
    expect(raw.body.errors.map((e: { field: string }) => e.field)).toEqual(['storagePathName']);
    expect(await jobRow('control-check')).toEqual([]);
  });

  it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
    const malformed = await call(receiver.url, 'PUT', `${PATH}/not-json`, {
      token: admin.apiKey,
      body: '{"storagePathName": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(malformed, 400);

    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await call(receiver.url, 'PUT', `${PATH}/not-json`, {
        token: admin.apiKey,
        body: JSON.stringify(definition()),
        headers: { 'content-type': contentType },
      });
      expectProblem(response, 415);
    }
    expect(await jobRow('not-json')).toEqual([]);
  });
});

describe('GET /api/v1/backup-jobs/{id}', () => {
  it('answers 200 with the job as stored', async () => {
    await put('get-me', definition({ backupProviderCode: 'CloudB', daysToKeep: 7, holdFlag: true }));

    const response = await call(receiver.url, 'GET', `${PATH}/get-me`, { token: admin.apiKey });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      backupJobId: 'get-me',
      storagePathName: '/backups/nightly',
      backupProviderCode: 'CloudB',
      daysToKeep: 7,
      isActive: true,
      holdFlag: true,
    });
  });

  it('answers 404 problem for an unknown job, also when the id could never be a job id', async () => {
    for (const id of ['no-such-job', 'a%00b', 'with%20space', 'a'.repeat(51)]) {
      const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: admin.apiKey });
      expectProblem(response, 404);
    }
  });

  it('answers 400 problem, not 500, for a path that is not valid percent-encoding', async () => {
    const get = await call(receiver.url, 'GET', `${PATH}/%FF`, { token: admin.apiKey });
    expectProblem(get, 400);
    const putResponse = await put('%FF', definition());
    expectProblem(putResponse, 400);
  });
});

describe('GET /api/v1/backup-jobs', () => {
  it('pages through every job in id order with limit and cursor, without overlap', async () => {
    for (const id of ['page-c', 'page-a', 'page-e', 'page-b', 'page-d']) {
      expect((await put(id, definition())).status).toBe(201);
    }
    const { rows } = await pool.query<{ backup_job_id: string }>('SELECT backup_job_id FROM backup_jobs ORDER BY backup_job_id');
    const expected = rows.map((row) => row.backup_job_id);
    expect(expected.length).toBeGreaterThanOrEqual(5);

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const page = await call(receiver.url, 'GET', `${PATH}${query}`, { token: admin.apiKey });
      expect(page.status).toBe(200);
      sizes.push(page.body.items.length);
      seen.push(...page.body.items.map((job: { backupJobId: string }) => job.backupJobId));
      cursor = page.body.nextCursor;
    } while (cursor !== null && sizes.length <= expected.length);

    expect(seen).toEqual(expected);
    expect(sizes.slice(0, -1).every((size) => size === 2)).toBe(true);
    expect(sizes.at(-1)).toBeGreaterThan(0);
  });

  it('returns whole job definitions, and every job in one page by default', async () => {
    const response = await call(receiver.url, 'GET', PATH, { token: admin.apiKey });
    expect(response.status).toBe(200);
    expect(response.body.nextCursor).toBeNull();
    expect(response.body.items).toHaveLength(await jobCount());
    expect(response.body.items.find((job: { backupJobId: string }) => job.backupJobId === 'page-a')).toEqual({
      backupJobId: 'page-a',
      ...definition(),
      isActive: true,
      holdFlag: false,
    });
  });

  it('answers 400 naming limit when it is out of range', async () => {
    for (const limit of ['0', '501', 'many']) {
      const response = await call(receiver.url, 'GET', `${PATH}?limit=${limit}`, { token: admin.apiKey });
      expectProblem(response, 400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['limit']);
    }
  });

  it('answers 400 naming cursor, not 500, for a cursor this API did not return', async () => {
    // "AA" decodes to a NUL byte, which Postgres refuses in text
    for (const cursor of ['AA', 'garbage']) {
      const response = await call(receiver.url, 'GET', `${PATH}?cursor=${cursor}`, { token: admin.apiKey });
      expectProblem(response, 400);
      expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual(['cursor']);
    }
  });
});

describe('access to the backup jobs API', () => {
  const routes: [string, string, unknown][] = [
    ['PUT', `${PATH}/forbidden-job`, definition()],
    ['GET', `${PATH}/nightly-db`, undefined],
    ['GET', PATH, undefined],
  ];

  it.each(routes)('%s %s answers 403 without the jobs:admin scope', async (method, path, json) => {
    const response = await call(receiver.url, method, path, { token: requestsOnly.apiKey, json });
    expectProblem(response, 403);
    expect(response.body.detail).toMatch(/jobs:admin/);
  });

  it.each(routes)('%s %s answers 401 without a token', async (method, path, json) => {
    const response = await call(receiver.url, method, path, { json });
    expectProblem(response, 401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('stored nothing for the refused PUTs', async () => {
    expect(await jobRow('forbidden-job')).toEqual([]);
  });
});
