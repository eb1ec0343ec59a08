import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type ApiResponse } from '../support/api-client.js';
import { REPO_ROOT } from '../support/pipeline.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * Browser sessions, the client lifecycle CLI and the queue UI's limits (SPEC §5.2), driven as an
 * operator and a browser would: the CLI run as a command, the receiver over HTTP.
 */

const run = promisify(execFile);
const REQUESTS = '/api/v1/backup-requests';
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let pool: pg.Pool;
let receiver: TestReceiver;
let queuePrefix: string;

/** `npm run --silent cli -- clients …` as an operator types it (the compiled CLI, without the build). */
async function cli<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'apps/cli/dist/main.js'), 'clients', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: db.databaseUrl, LINEBACKER_LOG_LEVEL: 'silent' },
  });
  return JSON.parse(stdout) as T;
}

interface Created {
  clientId: string;
  apiKey: string;
  scopes: string[];
}
const create = (name: string, scopes: string) => cli<Created>('create', '--name', name, '--scopes', scopes);

/** Signs in with JSON; the whole Set-Cookie header and the `name=value` to send back. */
async function signIn(apiKey: string): Promise<{ response: ApiResponse; setCookie: string; cookie: string }> {
  const response = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey } });
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { response, setCookie, cookie: setCookie.split(';')[0]! };
}

const origin = () => receiver.url;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  queuePrefix = testQueuePrefix();
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: queuePrefix,
    LINEBACKER_AUTH_CACHE_MS: '500',
  });
});

afterAll(async () => {
  await receiver?.close();
  await pool?.end();
  await db?.drop();
});

describe('browser sessions', () => {
  it('refuses to sign in a key without ops:read (403), setting no cookie', async () => {
    const machine = await create('machine', 'requests:write,requests:read,jobs:admin');
    const { response } = await signIn(machine.apiKey);
    expect(response.status).toBe(403);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect((await pool.query('SELECT count(*)::int AS n FROM browser_sessions')).rows[0].n).toBe(0);
  });

  it('issues an opaque session id, stored only hashed, never the key, scoped to ops:read (+ jobs:admin)', async () => {
    const admin = await create('ops-admin', 'ops:read,jobs:admin,requests:write,requests:read');
    const { response, setCookie, cookie } = await signIn(admin.apiKey);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ clientId: admin.clientId, scopes: ['ops:read', 'jobs:admin'] });
    expect(setCookie).toMatch(/^lb_session=lbs_[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Strict/i);
    expect(setCookie).not.toContain(admin.apiKey);
    expect(setCookie).not.toContain(admin.apiKey.slice(4, 20));

    const sessionId = cookie.split('=')[1]!;
    const { rows } = await pool.query('SELECT session_hash, client_id, scopes, idle_expires_at <= expires_at AS ordered FROM browser_sessions');
    expect(rows).toEqual([{ session_hash: expect.stringMatching(/^[0-9a-f]{64}$/), client_id: admin.clientId, scopes: ['ops:read', 'jobs:admin'], ordered: true }]);
    expect(JSON.stringify(rows)).not.toContain(sessionId);

    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).not.toBe(401);
    expect((await call(receiver.url, 'GET', `${REQUESTS}?all=true`, { headers: { cookie } })).status).toBe(200);
    expect((await call(receiver.url, 'GET', '/metrics', { headers: { cookie } })).status).toBe(200);
  });

  it('never authenticates a write of the API, whatever the Origin, and stores nothing', async () => {
    const admin = await create('writer', 'ops:read,jobs:admin,requests:write');
    const { cookie } = await signIn(admin.apiKey);
    const headers = { cookie, origin: origin() };
    const writes: [string, string, unknown][] = [
      ['POST', REQUESTS, { backupJobId: 'job-1', dataDate: today, backupDataLocation: '/data/cookie' }],
      ['PUT', '/api/v1/backup-jobs/job-1', { storagePathName: '/s', backupProviderCode: 'Local', daysToKeep: 1 }],
      ['DELETE', '/api/v1/backup-jobs/job-1', undefined],
      ['PATCH', `${REQUESTS}/00000000-0000-4000-8000-000000000000`, {}],
      ['POST', '/healthz', {}],
    ];
    for (const [method, path, json] of writes) {
      const response = await call(receiver.url, method, path, { headers, json });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
    // nor a read outside the operator pages' reads
    expect((await call(receiver.url, 'GET', '/api/v1/backup-jobs', { headers })).status).toBe(401);
    expect((await pool.query('SELECT count(*)::int AS n FROM backup_requests')).rows[0].n).toBe(0);
    expect((await pool.query('SELECT count(*)::int AS n FROM backup_jobs')).rows[0].n).toBe(0);
  });

  it('needs an Origin equal to the full origin for a queue UI action with the cookie', async () => {
    const admin = await create('origin', 'ops:read,jobs:admin');
    const { cookie } = await signIn(admin.apiKey);
    const pause = (headers: Record<string, string>) => call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/pause', { headers: { cookie, ...headers } });
    const port = new URL(receiver.url).port;
    const wrongOrigins: Record<string, string>[] = [{}, { origin: 'https://evil.example' }, { origin: `https://127.0.0.1:${port}` }, { origin: 'http://127.0.0.1:1' }, { origin: 'null' }];
    for (const wrong of wrongOrigins) {
      const response = await pause(wrong);
      expect(response.status, JSON.stringify(wrong)).toBe(403);
      expect(response.body.type).toBe('urn:linebacker:problem:cross-origin');
    }
    expect((await pause({ origin: origin() })).status).toBe(200);
    expect((await call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/resume', { headers: { cookie, origin: origin() } })).status).toBe(200);
  });

  it('ends the session server-side at sign-out: the same cookie is refused afterwards', async () => {
    const ops = await create('sign-out', 'ops:read');
    const { cookie } = await signIn(ops.apiKey);
    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).not.toBe(401);

    expect((await call(receiver.url, 'POST', '/admin/session/logout', { headers: { cookie } })).status).toBe(403); // no Origin
    const out = await call(receiver.url, 'POST', '/admin/session/logout', { headers: { cookie, origin: origin() } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^lb_session=;.*Expires=Thu, 01 Jan 1970/);

    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).toBe(401);
    expect((await pool.query('SELECT count(*)::int AS n FROM browser_sessions WHERE client_id = $1', [ops.clientId])).rows[0].n).toBe(0);
  });

  it('ends a session at its idle expiry', async () => {
    const short = await startTestReceiver({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: queuePrefix, LINEBACKER_SESSION_IDLE_MS: '1000' });
    try {
      const ops = await create('idle', 'ops:read');
      const response = await call(short.url, 'POST', '/admin/session', { json: { apiKey: ops.apiKey } });
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect((await call(short.url, 'GET', '/healthz', { headers: { cookie } })).status).not.toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await call(short.url, 'GET', '/healthz', { headers: { cookie } })).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('uses a __Host- cookie with Secure when the request is HTTPS through a trusted proxy', async () => {
    const proxied = await startTestReceiver({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: queuePrefix, LINEBACKER_TRUST_PROXY: 'loopback' });
    try {
      const ops = await create('tls', 'ops:read,jobs:admin');
      const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'lb.example' };
      const response = await call(proxied.url, 'POST', '/admin/session', { json: { apiKey: ops.apiKey }, headers: https });
      const setCookie = response.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/^__Host-lb_session=lbs_/);
      expect(setCookie).toMatch(/; Secure/);
      expect(setCookie).toMatch(/; Path=\//);
      expect(setCookie).not.toMatch(/Domain=/i);
      const cookie = setCookie.split(';')[0]!;
      expect((await call(proxied.url, 'GET', '/healthz', { headers: { ...https, cookie } })).status).not.toBe(401);
      const pause = (originHeader: string) =>
        call(proxied.url, 'PUT', '/admin/queues/api/queues/allowed/pause', { headers: { ...https, cookie, origin: originHeader } });
      expect((await pause('http://lb.example')).status).toBe(403);
      expect((await pause('https://lb.example')).status).toBe(200);
      await call(proxied.url, 'PUT', '/admin/queues/api/queues/allowed/resume', { headers: { ...https, cookie, origin: 'https://lb.example' } });

      // the same receiver without the proxy's word: plain HTTP, no Secure cookie
      const plain = await call(proxied.url, 'POST', '/admin/session', { json: { apiKey: ops.apiKey } });
      expect(plain.headers.get('set-cookie')).toMatch(/^lb_session=/);
      expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);
    } finally {
      await proxied.close();
    }
  });
});

describe('clients list | disable | enable | rotate-key', () => {
  it('lists clients with id, name, scopes, created, disabled and last used, never a key', async () => {
    const listed = await create('listed', 'requests:read');
    expect((await call(receiver.url, 'GET', REQUESTS, { token: listed.apiKey })).status).toBe(200);
    const { clients } = await cli<{ clients: Record<string, unknown>[] }>('list');
    const entry = clients.find((client) => client.clientId === listed.clientId);
    expect(entry).toEqual({
      clientId: listed.clientId,
      name: 'listed',
      scopes: ['requests:read'],
      hasKey: true,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      disabledAt: null,
      lastUsedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const { rows } = await pool.query('SELECT key_hash FROM api_clients');
    const text = JSON.stringify(clients);
    expect(text).not.toContain('lbk_');
    for (const { key_hash: hash } of rows) if (hash) expect(text).not.toContain(hash);
  });

  it("disable: the client's key and sessions are refused (within the cache lifetime); enable brings the key back", async () => {
    const ops = await create('to-disable', 'ops:read,requests:read');
    const { cookie } = await signIn(ops.apiKey);
    expect((await call(receiver.url, 'GET', REQUESTS, { token: ops.apiKey })).status).toBe(200);

    expect(await cli('disable', ops.clientId)).toEqual({ clientId: ops.clientId, disabled: true });
    // the session ends at once, the key once the receiver's cache (500 ms here) has run out
    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await call(receiver.url, 'GET', REQUESTS, { token: ops.apiKey })).status).toBe(401);
    expect((await signIn(ops.apiKey)).response.status).toBe(401);
    const listed = (await cli<{ clients: { clientId: string; disabledAt: string | null }[] }>('list')).clients;
    expect(listed.find((client) => client.clientId === ops.clientId)?.disabledAt).toMatch(/^\d{4}-/);

    expect(await cli('enable', ops.clientId)).toEqual({ clientId: ops.clientId, disabled: false });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await call(receiver.url, 'GET', REQUESTS, { token: ops.apiKey })).status).toBe(200);
    // the old session stays ended
    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).toBe(401);
  });

  it('rotate-key prints a new key once; the old key and its sessions stop working', async () => {
    const rotated = await create('to-rotate', 'ops:read,requests:read');
    const { cookie } = await signIn(rotated.apiKey);
    const fresh = await cli<Created>('rotate-key', rotated.clientId);
    expect(fresh).toEqual({ clientId: rotated.clientId, apiKey: expect.stringMatching(/^lbk_/), scopes: ['ops:read', 'requests:read'] });
    expect(fresh.apiKey).not.toBe(rotated.apiKey);

    expect((await call(receiver.url, 'GET', '/healthz', { headers: { cookie } })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await call(receiver.url, 'GET', REQUESTS, { token: rotated.apiKey })).status).toBe(401);
    expect((await call(receiver.url, 'GET', REQUESTS, { token: fresh.apiKey })).status).toBe(200);
  });

  it('fails with a message and exit code 1 for an unknown client', async () => {
    await expect(cli('disable', 'no-such-client')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no client no-such-client') });
  });
});

describe('the queue UI and status-received', () => {
  it('refuses every write to status-received, even with jobs:admin, and nothing changes', async () => {
    const admin = await create('queue-admin', 'ops:read,jobs:admin');
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue('status-received', { connection, prefix: queuePrefix });
    try {
      const job = await queue.add('reply', { backupRequestId: 'kept' }, { jobId: 'kept-job', delay: 60_000 });
      const before = await queue.getJobCounts();
      const base = '/admin/queues/api/queues';
      const attempts: [string, string, unknown][] = [
        ['POST', `${base}/status-received/add`, { name: 'forged', data: { backupRequestId: 'x', resultTypeCode: 'Success' } }],
        ['PUT', `${base}/status-received/kept-job/update-data`, { jobData: { messageSent: true } }],
        ['PUT', `${base}/status-received/empty`, undefined],
        ['PUT', `${base}/status-received/obliterate`, undefined],
        ['PUT', `${base}/status-received/retry/failed`, undefined],
        ['PUT', `${base}/status-received/promote`, undefined],
        ['PUT', `${base}/status-received/kept-job/promote`, undefined],
        ['PUT', `${base}/status-received/kept-job/clean`, undefined],
        ['PUT', `${base}/status-received/clean/delayed`, undefined],
        ['PUT', `${base}/status%2Dreceived/empty`, undefined],
      ];
      for (const [method, path, json] of attempts) {
        const response = await call(receiver.url, method, path, { token: admin.apiKey, json });
        expect(response.status, `${method} ${path}`).toBe(403);
      }
      expect(await queue.getJobCounts()).toEqual(before);
      expect((await queue.getJob('kept-job'))?.data).toEqual(job.data);

      // bull-board itself shows the queue read-only, the others writable for jobs:admin
      const listed = await call(receiver.url, 'GET', base, { token: admin.apiKey });
      const readOnly = Object.fromEntries(listed.body.queues.map((q: { name: string; readOnlyMode: boolean }) => [q.name, q.readOnlyMode]));
      expect(readOnly).toEqual({ created: false, allowed: false, 'status-received': true });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});
