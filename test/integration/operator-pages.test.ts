import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const PATH = '/api/v1/backup-requests';
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let receiver: TestReceiver;
let alice: TestApiClient;
let bob: TestApiClient;
let ops: TestApiClient;
let opsAdmin: TestApiClient;
let location = 0;

async function post(client: TestApiClient): Promise<string> {
  const response = await call(receiver.url, 'POST', PATH, {
    token: client.apiKey,
    json: { backupJobId: 'ops-job', dataDate: today, backupDataLocation: `/data/ops/${++location}` },
  });
  expect(response.status).toBe(202);
  return response.body.backupRequestId as string;
}

/** Signs in like a script would (JSON) and returns the session cookie as a Cookie header value. */
async function signIn(client: TestApiClient): Promise<string> {
  const response = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: client.apiKey } });
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0]!;
}

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
  });
  alice = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'alice');
  bob = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'bob');
  ops = await createTestApiClient(db.databaseUrl, ['ops:read'], 'ops');
  opsAdmin = await createTestApiClient(db.databaseUrl, ['ops:read', 'jobs:admin'], 'ops-admin');
});

afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

describe('GET /api/v1/backup-requests?all=true (operators)', () => {
  it("lists every client's requests, newest first, for ops:read; without all=true only the caller's", async () => {
    const a1 = await post(alice);
    const b1 = await post(bob);
    const a2 = await post(alice);

    const all = await call(receiver.url, 'GET', `${PATH}?all=true&limit=100`, { token: ops.apiKey });
    expect(all.status).toBe(200);
    const ids = all.body.items.map((item: { backupRequestId: string }) => item.backupRequestId);
    expect(ids.slice(0, 3)).toEqual([a2, b1, a1]);
    expect(all.body.items[1]).toMatchObject({ backupRequestId: b1, requesterId: bob.clientId, status: 'Received' });

    const own = await call(receiver.url, 'GET', `${PATH}?limit=100`, { token: alice.apiKey });
    expect(own.body.items.map((item: { backupRequestId: string }) => item.backupRequestId)).toEqual([a2, a1]);
  });

  it('paginates and filters like the caller-scoped list', async () => {
    const first = await call(receiver.url, 'GET', `${PATH}?all=true&limit=2`, { token: ops.apiKey });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(receiver.url, 'GET', `${PATH}?all=true&limit=2&cursor=${first.body.nextCursor}`, { token: ops.apiKey });
    expect(second.status).toBe(200);
    expect(second.body.items.length).toBeGreaterThan(0);
    const seen = new Set([...first.body.items, ...second.body.items].map((item: { backupRequestId: string }) => item.backupRequestId));
    expect(seen.size).toBe(first.body.items.length + second.body.items.length);

    const failed = await call(receiver.url, 'GET', `${PATH}?all=true&status=Failed`, { token: ops.apiKey });
    expect(failed.body).toEqual({ items: [], nextCursor: null });
  });

  it('needs ops:read for all=true (403 for a client that only reads its own), and requests:read without it', async () => {
    const denied = await call(receiver.url, 'GET', `${PATH}?all=true`, { token: alice.apiKey });
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toContain('ops:read');
    expect((await call(receiver.url, 'GET', PATH, { token: ops.apiKey })).status).toBe(403);
  });

  it('rejects an all value other than true or false', async () => {
    const response = await call(receiver.url, 'GET', `${PATH}?all=yes`, { token: alice.apiKey });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: 'all', message: 'must be true or false' }]);
  });

  it("lets ops:read read any client's request with its history", async () => {
    const id = await post(bob);
    const response = await call(receiver.url, 'GET', `${PATH}/${id}`, { token: ops.apiKey });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ backupRequestId: id, requesterId: bob.clientId, history: [{ status: 'Received' }] });
    expect((await call(receiver.url, 'GET', `${PATH}/${id}`, { token: alice.apiKey })).status).toBe(404);
  });
});

describe('browser sign-in (POST /admin/session)', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie (not the key) that opens the operator pages', async () => {
    const response = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: ops.apiKey } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ clientId: ops.clientId, scopes: ['ops:read'] });
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^lb_session=lbs_[^;]+;/);
    expect(setCookie).not.toContain(ops.apiKey);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Strict/i);
    expect(setCookie).toMatch(/; Path=\//);

    const cookie = setCookie.split(';')[0]!;
    const healthz = await call(receiver.url, 'GET', '/healthz', { headers: { cookie } });
    expect(healthz.status).not.toBe(401);
    expect(healthz.status).not.toBe(403);
  });

  it('accepts a form post from the sign-in page and redirects to the page asked for', async () => {
    const page = await fetch(`${receiver.url}/admin/session?next=%2Fadmin%2Fqueues`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="next" value="/admin/queues"');

    const response = await fetch(`${receiver.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ apiKey: ops.apiKey, next: '/admin/queues' }).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/queues');
    expect(response.headers.get('set-cookie')).toMatch(/^lb_session=/);
  });

  it('never redirects off the operator pages', async () => {
    const response = await fetch(`${receiver.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ apiKey: ops.apiKey, next: '//evil.example/' }).toString(),
      redirect: 'manual',
    });
    expect(response.headers.get('location')).toBe('/dashboard');
  });

  it('answers 401 for a wrong key (the page again for a form, problem+json for JSON) and sets no cookie', async () => {
    const json = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: 'lbk_not-a-key' } });
    expect(json.status).toBe(401);
    expect(json.headers.get('content-type')).toContain('application/problem+json');
    expect(json.headers.get('set-cookie')).toBeNull();

    const form = await fetch(`${receiver.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'apiKey=lbk_not-a-key',
    });
    expect(form.status).toBe(401);
    expect(await form.text()).toContain('That API key is not valid.');
    expect(form.headers.get('set-cookie')).toBeNull();

    const missing = await call(receiver.url, 'POST', '/admin/session', { json: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: 'apiKey', message: 'is required' }]);
  });

  it('lets the Authorization header win over the cookie', async () => {
    const cookie = await signIn(ops);
    // the cookie alone may read /healthz; with alice's key in the header it is alice who asks
    const response = await call(receiver.url, 'GET', '/healthz', { token: alice.apiKey, headers: { cookie } });
    expect(response.status).toBe(403);
  });

  it('refuses a cookie-authenticated write from another site', async () => {
    const cookie = await signIn(opsAdmin);
    const response = await call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/pause', {
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(response.status).toBe(403);
    expect(response.body.type).toBe('urn:linebacker:problem:cross-origin');
  });

  it('clears the cookie on logout', async () => {
    const response = await call(receiver.url, 'POST', '/admin/session/logout');
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toMatch(/^lb_session=;.*Expires=Thu, 01 Jan 1970/);
  });

  it('keeps problem+json 401 for the API without credentials, and an invalid cookie is a 401', async () => {
    expect((await call(receiver.url, 'GET', PATH, { headers: { accept: 'text/html' } })).status).toBe(401);
    expect((await call(receiver.url, 'GET', PATH, { headers: { cookie: 'lb_session=lbk_revoked' } })).status).toBe(401);
  });
});

describe('operator pages', () => {
  it('sends a browser without a session to the sign-in page', async () => {
    for (const page of ['/dashboard', '/admin/queues']) {
      const response = await fetch(`${receiver.url}${page}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(`/admin/session?next=${encodeURIComponent(page)}`);
    }
    // a script asking for JSON gets the usual 401
    expect((await call(receiver.url, 'GET', '/dashboard')).status).toBe(401);
  });

  it('serves the dashboard for ops:read and 403 without it', async () => {
    const page = await call(receiver.url, 'GET', '/dashboard', { headers: { cookie: await signIn(ops) } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.body).toContain('<script type="module" src="/dashboard/dashboard.js">');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await call(receiver.url, 'GET', '/dashboard/dashboard.js', { token: ops.apiKey });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');

    expect((await call(receiver.url, 'GET', '/dashboard', { token: alice.apiKey })).status).toBe(403);
    expect((await call(receiver.url, 'GET', '/dashboard/nothing-here.js', { token: ops.apiKey })).status).toBe(404);
  });

  it('shows the three queues in bull-board, read-only for ops:read and writable with jobs:admin', async () => {
    const page = await call(receiver.url, 'GET', '/admin/queues', { token: ops.apiKey });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');

    const queues = await call(receiver.url, 'GET', '/admin/queues/api/queues', { token: ops.apiKey });
    expect(queues.status).toBe(200);
    const byName = Object.fromEntries(
      queues.body.queues.map((queue: { name: string; readOnlyMode: boolean }) => [queue.name, queue.readOnlyMode]),
    );
    expect(byName).toEqual({ created: true, allowed: true, 'status-received': true });

    const pauseAsOps = await call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/pause', { token: ops.apiKey });
    expect(pauseAsOps.status).toBe(405);

    const adminQueues = await call(receiver.url, 'GET', '/admin/queues/api/queues', { token: opsAdmin.apiKey });
    // status-received is read-only for everyone (browser-sessions.test.ts tries to write it)
    const adminByName = Object.fromEntries(
      adminQueues.body.queues.map((queue: { name: string; readOnlyMode: boolean }) => [queue.name, queue.readOnlyMode]),
    );
    expect(adminByName).toEqual({ created: false, allowed: false, 'status-received': true });
    const pauseAsAdmin = await call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/pause', { token: opsAdmin.apiKey });
    expect(pauseAsAdmin.status).toBe(200);
    const resume = await call(receiver.url, 'PUT', '/admin/queues/api/queues/allowed/resume', { token: opsAdmin.apiKey });
    expect(resume.status).toBe(200);

    expect((await call(receiver.url, 'GET', '/admin/queues', { token: alice.apiKey })).status).toBe(403);
    expect((await call(receiver.url, 'GET', '/admin/queues/api/queues', { token: alice.apiKey })).status).toBe(403);
  });
});
