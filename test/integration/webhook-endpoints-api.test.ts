import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

// The webhook endpoints API (SPEC §8): a client manages its own endpoints, never sees another's,
// gets the secret once; urls are http/https and not private unless the server allows it.

let db: TestDatabase;
let pool: pg.Pool;
/** Private destinations refused (the default), secrets sealed at rest. */
let strict: TestReceiver;
/** LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true, secrets stored as they are. */
let lenient: TestReceiver;
let alice: TestApiClient;
let bob: TestApiClient;
let operator: TestApiClient;
let admin: TestApiClient;
let writeOnly: TestApiClient;

const PATH = '/api/v1/webhook-endpoints';
const PUBLIC_URL = 'https://93.184.215.14/hooks/linebacker';

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  const env = { DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: testQueuePrefix() };
  strict = await startTestReceiver({ ...env, LINEBACKER_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64') });
  lenient = await startTestReceiver({ ...env, LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'true' });
  alice = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'alice');
  bob = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'bob');
  operator = await createTestApiClient(db.databaseUrl, ['ops:read'], 'operator');
  admin = await createTestApiClient(db.databaseUrl, ['jobs:admin'], 'admin');
  writeOnly = await createTestApiClient(db.databaseUrl, ['requests:write'], 'write-only');
});

afterAll(async () => {
  await strict?.close();
  await lenient?.close();
  await pool?.end();
  await db?.drop();
});

describe('creating an endpoint', () => {
  it('answers 201 with the endpoint and its secret (whsec_ + 32 bytes), shown once, stored sealed', async () => {
    const created = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url: PUBLIC_URL, statuses: ['Failed', 'Succeeded'] } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${PATH}/${created.body.endpointId}`);
    expect(created.body).toMatchObject({
      clientId: alice.clientId,
      url: PUBLIC_URL,
      statuses: ['Succeeded', 'Failed'],
      failing: false,
      failingSince: null,
      lastDeliveredAt: null,
    });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.body.secret.slice(6), 'base64')).toHaveLength(32);

    const shown = await call(strict.url, 'GET', created.headers.get('location')!, { token: alice.apiKey });
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('secret');
    const { rows } = await pool.query<{ secret: string }>('SELECT secret FROM webhook_endpoints WHERE endpoint_id = $1', [created.body.endpointId]);
    expect(rows[0]!.secret).toMatch(/^sealed:v1:/);
    expect(rows[0]!.secret).not.toContain(created.body.secret.slice(6));
    // every status when none is named
    const all = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url: `${PUBLIC_URL}/all` } });
    expect(all.body.statuses).toEqual(['Received', 'Allowed', 'NotAllowed', 'Sent', 'Succeeded', 'Failed']);
  });

  it('refuses bad bodies with 400 naming every bad field, and needs requests:read', async () => {
    const bad = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url: 'ftp://example.com/x', statuses: ['Done'] } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['url', 'statuses.0']);
    for (const url of ['not a url', 'https://user:secret@93.184.215.14/', 'javascript:alert(1)']) {
      const refused = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url } });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors[0].field).toBe('url');
    }
    expect((await call(strict.url, 'POST', PATH, { token: writeOnly.apiKey, json: { url: PUBLIC_URL } })).status).toBe(403);
    expect((await call(strict.url, 'POST', PATH, { json: { url: PUBLIC_URL } })).status).toBe(401);
  });

  it('refuses loopback, private, link-local and unique-local destinations, literal or resolved, unless LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://10.0.0.5/hook', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9000/', 'http://[fd12::1]/', 'http://localhost:8080/hook', 'http://[::ffff:127.0.0.1]/']) {
      const refused = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url } });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors, url).toEqual([{ field: 'url', message: expect.stringMatching(/loopback|private|link-local|unique-local|LINEBACKER_WEBHOOK_ALLOW_PRIVATE/) }]);
    }
    const unresolvable = await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url: 'https://no-such-host.invalid/hook' } });
    expect(unresolvable.body.errors).toEqual([{ field: 'url', message: expect.stringMatching(/does not resolve/) }]);

    const allowed = await call(lenient.url, 'POST', PATH, { token: alice.apiKey, json: { url: 'http://localhost:8080/hook' } });
    expect(allowed.status).toBe(201);
    const { rows } = await pool.query<{ secret: string }>('SELECT secret FROM webhook_endpoints WHERE endpoint_id = $1', [allowed.body.endpointId]);
    expect(rows[0]!.secret).toBe(allowed.body.secret);
  });
});

describe('per-client visibility (as for requests)', () => {
  it("a client never sees, reads or deletes another client's endpoints; operators read all; admins delete", async () => {
    const mine = (await call(strict.url, 'POST', PATH, { token: alice.apiKey, json: { url: `${PUBLIC_URL}/visibility` } })).body;
    const bobs = (await call(strict.url, 'POST', PATH, { token: bob.apiKey, json: { url: `${PUBLIC_URL}/bob` } })).body;
    const one = `${PATH}/${mine.endpointId}`;

    const bobsList = await call(strict.url, 'GET', PATH, { token: bob.apiKey });
    expect(bobsList.body.items.map((e: { endpointId: string }) => e.endpointId)).toEqual([bobs.endpointId]);
    for (const [method, path] of [['GET', one], ['GET', `${one}/deliveries`], ['DELETE', one]] as const) {
      const hidden = await call(strict.url, method, path, { token: bob.apiKey });
      expect(hidden.status, `${method} ${path}`).toBe(404);
    }
    expect((await call(strict.url, 'GET', `${PATH}?all=true`, { token: bob.apiKey })).status).toBe(403);

    const alicesList = await call(strict.url, 'GET', `${PATH}?limit=100`, { token: alice.apiKey });
    expect(alicesList.body.items.every((e: { clientId: string }) => e.clientId === alice.clientId)).toBe(true);
    expect(alicesList.body.items[0].endpointId).toBe(mine.endpointId); // newest first
    for (const item of alicesList.body.items) expect(item).not.toHaveProperty('secret');

    expect((await call(strict.url, 'GET', one, { token: operator.apiKey })).status).toBe(200);
    expect((await call(strict.url, 'GET', `${one}/deliveries`, { token: operator.apiKey })).body).toEqual({ items: [], nextCursor: null });
    const everyone = await call(strict.url, 'GET', `${PATH}?all=true&limit=100`, { token: operator.apiKey });
    expect(new Set(everyone.body.items.map((e: { clientId: string }) => e.clientId))).toEqual(new Set([alice.clientId, bob.clientId]));
    expect((await call(strict.url, 'DELETE', one, { token: operator.apiKey })).status).toBe(403);

    expect((await call(strict.url, 'DELETE', `${PATH}/${bobs.endpointId}`, { token: admin.apiKey })).status).toBe(204);
    expect((await call(strict.url, 'DELETE', one, { token: alice.apiKey })).status).toBe(204);
    expect((await call(strict.url, 'GET', one, { token: alice.apiKey })).status).toBe(404);
    expect((await call(strict.url, 'GET', `${PATH}/not-a-uuid`, { token: alice.apiKey })).status).toBe(404);
  });

  it('pages the list with nextCursor and refuses a cursor it did not make', async () => {
    const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await call(strict.url, 'POST', PATH, { token: client.apiKey, json: { url: `${PUBLIC_URL}/${i}` } })).body.endpointId);
    const first = await call(strict.url, 'GET', `${PATH}?limit=3`, { token: client.apiKey });
    const second = await call(strict.url, 'GET', `${PATH}?limit=3&cursor=${first.body.nextCursor}`, { token: client.apiKey });
    expect([...first.body.items, ...second.body.items].map((e: { endpointId: string }) => e.endpointId)).toEqual(ids.reverse());
    expect(second.body.nextCursor).toBeNull();
    const bad = await call(strict.url, 'GET', `${PATH}?cursor=xyz&limit=0`, { token: client.apiKey });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['cursor', 'limit']);
  });
});
