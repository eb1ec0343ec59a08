import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../apps/cli/src/create-client.js';
import { call, createTestApiClient, type ApiResponse, type TestApiClient } from '../support/api-client.js';
import { freePort } from '../support/free-port.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const today = new Date().toISOString().slice(0, 10);
const REQUESTS = '/api/v1/backup-requests';
const JOBS = '/api/v1/backup-jobs';
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'linebacker-api';
const KID = 'test-key-1';

let db: TestDatabase;
let pool: pg.Pool;
let location = 0;

const requestBody = () => ({ backupJobId: 'job-1', dataDate: today, backupDataLocation: `/data/x/${++location}` });

const baseEnv = (): Record<string, string> => ({
  DATABASE_URL: db.databaseUrl,
  REDIS_URL: testRedisUrl(),
  LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
});

const count = async (table: 'backup_requests' | 'backup_jobs'): Promise<number> =>
  (await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

function expectUnauthenticated(response: ApiResponse, what = ''): void {
  expect(response.status, what).toBe(401);
  expect(response.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
  expect(response.headers.get('www-authenticate'), what).toMatch(/^Bearer realm=/);
  expect(response.body, what).toMatchObject({ status: 401, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('API keys', () => {
  let receiver: TestReceiver;
  let valid: TestApiClient;

  beforeAll(async () => {
    receiver = await startTestReceiver(baseEnv());
    valid = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read', 'jobs:admin'], 'valid');
  });
  afterAll(() => receiver?.close());

  const endpoints: { name: string; method: string; path: string; json?: unknown }[] = [
    { name: 'POST backup-requests', method: 'POST', path: REQUESTS, json: requestBody() },
    { name: 'GET backup-requests', method: 'GET', path: REQUESTS },
    { name: 'GET one backup request', method: 'GET', path: `${REQUESTS}/${randomUUID()}` },
    { name: 'PUT backup-jobs', method: 'PUT', path: `${JOBS}/job-1`, json: { storagePathName: '/s', backupProviderCode: 'Local', daysToKeep: 1 } },
    { name: 'GET backup-jobs', method: 'GET', path: JOBS },
    { name: 'GET one backup job', method: 'GET', path: `${JOBS}/job-1` },
    { name: 'an unknown path', method: 'GET', path: '/api/v1/no-such-thing' },
  ];

  const credentials: { name: string; authorization: string | undefined }[] = [
    { name: 'no Authorization header', authorization: undefined },
    { name: 'a Basic Authorization header', authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
    { name: 'a Bearer header without a token', authorization: 'Bearer' },
    { name: 'a Bearer header with two tokens', authorization: 'Bearer one two' },
    { name: 'an unknown API key', authorization: `Bearer lbk_${'A'.repeat(43)}` },
    { name: 'a garbage token', authorization: 'Bearer not-a-token-at-all' },
    { name: 'a JWT-shaped token while JWTs are not configured', authorization: 'Bearer aaa.bbb.ccc' },
  ];

  describe.each(credentials)('with $name', ({ authorization }) => {
    it.each(endpoints)('$name answers 401 problem+json with WWW-Authenticate', async ({ method, path, json }) => {
      const headers: Record<string, string> = {};
      if (authorization !== undefined) headers.authorization = authorization;
      const response = await call(receiver.url, method, path, { json, headers });
      expectUnauthenticated(response);
    });
  });

  it('stored nothing for any of the refused calls', async () => {
    expect(await count('backup_requests')).toBe(0);
    expect(await count('backup_jobs')).toBe(0);
  });

  it('lets a valid API key through, with or without the "Bearer" casing', async () => {
    const list = await call(receiver.url, 'GET', REQUESTS, { token: valid.apiKey });
    expect(list.status).toBe(200);
    const lowercase = await call(receiver.url, 'GET', JOBS, { headers: { authorization: `bearer ${valid.apiKey}` } });
    expect(lowercase.status).toBe(200);
  });

  it('refuses the key of a client once it is disabled (after the auth cache expires)', async () => {
    const receiverWithoutCache = await startTestReceiver({ ...baseEnv(), LINEBACKER_AUTH_CACHE_MS: '0' });
    try {
      const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'to-disable');
      expect((await call(receiverWithoutCache.url, 'GET', REQUESTS, { token: client.apiKey })).status).toBe(200);
      await pool.query('UPDATE api_clients SET disabled_at = now() WHERE client_id = $1', [client.clientId]);
      expectUnauthenticated(await call(receiverWithoutCache.url, 'GET', REQUESTS, { token: client.apiKey }));
    } finally {
      await receiverWithoutCache.close();
    }
  });

  it.each(['/livez', '/readyz'])('%s answers 200 without a token', async (path) => {
    const response = await call(receiver.url, 'GET', path);
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
  });
});

describe('JWTs from the identity provider', () => {
  let jwks: Server;
  let receiver: TestReceiver;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let publicJwk: JWK;
  let jwtEnv: Record<string, string>;

  /** A JWT for `claims`, valid unless `options` say otherwise. */
  async function jwt(
    claims: JWTPayload,
    options: { key?: CryptoKey; audience?: string; issuer?: string; expiresAt?: number; subject?: string | null } = {},
  ): Promise<string> {
    const builder = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt(options.expiresAt === undefined ? undefined : options.expiresAt - 600)
      .setExpirationTime(options.expiresAt ?? '5m');
    if (options.subject !== null) builder.setSubject(options.subject ?? 'idp-client-1');
    return builder.sign(options.key ?? signingKey);
  }

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };

    jwks = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;

    jwtEnv = {
      ...baseEnv(),
      LINEBACKER_JWT_ISSUER: ISSUER,
      LINEBACKER_JWT_AUDIENCE: AUDIENCE,
      LINEBACKER_JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    };
    receiver = await startTestReceiver(jwtEnv);

    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      await createClient(client, { id: 'registered-sub', key: false, name: 'registered', scopes: 'requests:write,requests:read' });
      await createClient(client, { id: 'idp-client-1', key: false, name: 'idp client', scopes: 'requests:write,requests:read' });
    } finally {
      await client.end();
    }
  });

  afterAll(async () => {
    await receiver?.close();
    jwks?.closeAllConnections();
    await new Promise((resolve) => (jwks ? jwks.close(resolve) : resolve(undefined)));
  });

  it('a valid JWT with requests:write and requests:read can POST (requester = sub) and GET the request', async () => {
    const token = await jwt({ scope: 'requests:write requests:read' });
    const sent = requestBody();

    const posted = await call(receiver.url, 'POST', REQUESTS, { token, json: sent });

    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ ...sent, requesterId: 'idp-client-1', status: 'Received' });
    const { rows } = await pool.query('SELECT requester_id FROM backup_requests WHERE backup_request_id = $1', [
      posted.body.backupRequestId,
    ]);
    expect(rows).toEqual([{ requester_id: 'idp-client-1' }]);

    const read = await call(receiver.url, 'GET', posted.headers.get('location') ?? '', { token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ backupRequestId: posted.body.backupRequestId, requesterId: 'idp-client-1' });

    const list = await call(receiver.url, 'GET', REQUESTS, { token });
    expect(list.body.items.map((item: { backupRequestId: string }) => item.backupRequestId)).toEqual([posted.body.backupRequestId]);
  });

  it('also reads scopes from an scp list claim', async () => {
    const token = await jwt({ scp: ['requests:read'] });
    expect((await call(receiver.url, 'GET', REQUESTS, { token })).status).toBe(200);
    expect((await call(receiver.url, 'POST', REQUESTS, { token, json: requestBody() })).status).toBe(403);
  });

  it('answers 401 for a JWT with the wrong audience', async () => {
    const token = await jwt({ scope: 'requests:read' }, { audience: 'someone-else' });
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token }));
  });

  it('answers 401 for a JWT from another issuer', async () => {
    const token = await jwt({ scope: 'requests:read' }, { issuer: 'https://evil.example.test/' });
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token }));
  });

  it('answers 401 for an expired JWT', async () => {
    const token = await jwt({ scope: 'requests:read' }, { expiresAt: Math.floor(Date.now() / 1000) - 120 });
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token }));
  });

  it('answers 401 for a JWT signed by another key under the same kid, and stores nothing', async () => {
    const before = await count('backup_requests');
    const token = await jwt({ scope: 'requests:write requests:read' }, { key: otherKey });
    expectUnauthenticated(await call(receiver.url, 'POST', REQUESTS, { token, json: requestBody() }));
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token }));
    expect(await count('backup_requests')).toBe(before);
  });

  it('answers 401 for a JWT without a subject, and for a tampered or garbage JWT', async () => {
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: await jwt({ scope: 'requests:read' }, { subject: null }) }));

    const [header, , signature] = (await jwt({ scope: 'requests:read' })).split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'admin', scope: 'jobs:admin', iss: ISSUER, aud: AUDIENCE })).toString('base64url');
    expectUnauthenticated(await call(receiver.url, 'GET', JOBS, { token: `${header}.${forgedPayload}.${signature}` }));

    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: 'aaa.bbb.ccc' }));
  });

  it('gives a JWT without a scope claim the scopes of the client registered under its sub', async () => {
    const token = await jwt({}, { subject: 'registered-sub' });

    const posted = await call(receiver.url, 'POST', REQUESTS, { token, json: requestBody() });
    expect(posted.status).toBe(202);
    expect(posted.body.requesterId).toBe('registered-sub');
    expect((await call(receiver.url, 'GET', `${REQUESTS}/${posted.body.backupRequestId}`, { token })).status).toBe(200);

    // the registered client does not have jobs:admin
    expect((await call(receiver.url, 'GET', JOBS, { token })).status).toBe(403);
  });

  it('answers 401 for a JWT whose subject is not a registered client, whatever scopes it claims', async () => {
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: await jwt({}, { subject: 'nobody-registered' }) }));
    const claimsAll = await jwt({ scope: 'requests:write requests:read jobs:admin ops:read' }, { subject: 'nobody-registered' });
    expectUnauthenticated(await call(receiver.url, 'GET', JOBS, { token: claimsAll }));
  });

  it('answers 401 for a JWT without exp', async () => {
    const token = await new SignJWT({ scope: 'requests:read' })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('idp-client-1')
      .setIssuedAt()
      .sign(signingKey);
    const response = await call(receiver.url, 'GET', REQUESTS, { token });
    expectUnauthenticated(response);
    expect(response.body.detail).toMatch(/exp/);
  });

  it('never grants a scope the client was not registered with, whatever the token asks for', async () => {
    // idp-client-1 is registered with requests:write and requests:read only
    const token = await jwt({ scope: 'requests:read jobs:admin ops:read' });
    expect((await call(receiver.url, 'GET', REQUESTS, { token })).status).toBe(200);
    expect((await call(receiver.url, 'GET', JOBS, { token })).status).toBe(403);
    expect((await call(receiver.url, 'GET', '/healthz', { token })).status).toBe(403);
    expect((await call(receiver.url, 'GET', `${REQUESTS}?all=true`, { token })).status).toBe(403);
  });

  it('answers 401 for an unsigned (alg none) token and for an HS256 token keyed with the public key', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'idp-client-1', scope: 'requests:read', exp: Math.floor(Date.now() / 1000) + 300 };
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: unsigned }));
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: `${unsigned}AAAA` }));

    const publicPem = Buffer.from(JSON.stringify(publicJwk));
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: KID, typ: 'JWT' }).sign(publicPem);
    expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: confused }));
  });

  it("refuses a disabled subject's tokens within the auth cache lifetime", async () => {
    const cached = await startTestReceiver({ ...jwtEnv, LINEBACKER_AUTH_CACHE_MS: '1000' });
    try {
      const client = new pg.Client({ connectionString: db.databaseUrl });
      await client.connect();
      try {
        await createClient(client, { id: 'to-disable-sub', key: false, name: 'to disable', scopes: 'requests:read' });
      } finally {
        await client.end();
      }
      const token = await jwt({ scope: 'requests:read' }, { subject: 'to-disable-sub' });
      expect((await call(cached.url, 'GET', REQUESTS, { token })).status).toBe(200);
      await pool.query('UPDATE api_clients SET disabled_at = now() WHERE client_id = $1', ['to-disable-sub']);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expectUnauthenticated(await call(cached.url, 'GET', REQUESTS, { token }));
    } finally {
      await cached.close();
    }
  });

  it('answers 403 to a POST with a JWT that has requests:read only, storing nothing', async () => {
    const before = await count('backup_requests');
    const token = await jwt({ scope: 'requests:read' });

    const response = await call(receiver.url, 'POST', REQUESTS, { token, json: requestBody() });

    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.detail).toMatch(/requests:write/);
    expect(await count('backup_requests')).toBe(before);
  });

  it('still accepts linebacker API keys next to JWTs', async () => {
    const client = await createTestApiClient(db.databaseUrl, ['requests:read'], 'key-next-to-jwt');
    expect((await call(receiver.url, 'GET', REQUESTS, { token: client.apiKey })).status).toBe(200);
  });

  it('answers 503 with Retry-After, not 401, while the identity provider cannot be reached', async () => {
    const closedPort = await freePort();
    const stranded = await startTestReceiver({
      ...baseEnv(),
      LINEBACKER_JWT_ISSUER: ISSUER,
      LINEBACKER_JWT_AUDIENCE: AUDIENCE,
      LINEBACKER_JWT_JWKS_URL: `http://127.0.0.1:${closedPort}/.well-known/jwks.json`,
    });
    try {
      const response = await call(stranded.url, 'GET', REQUESTS, { token: await jwt({ scope: 'requests:read' }) });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await stranded.close();
    }
  });
});

describe('rate limit per client', () => {
  let receiver: TestReceiver;
  let busy: TestApiClient;
  let calm: TestApiClient;

  beforeAll(async () => {
    receiver = await startTestReceiver({ ...baseEnv(), LINEBACKER_RATE_LIMIT_PER_MINUTE: '3' });
    busy = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'busy');
    calm = await createTestApiClient(db.databaseUrl, ['requests:read'], 'calm');
  });
  afterAll(() => receiver?.close());

  it('answers the 4th call of a client in a minute with 429 and Retry-After, while another client gets through', async () => {
    const allowed = [
      await call(receiver.url, 'GET', REQUESTS, { token: busy.apiKey }),
      await call(receiver.url, 'POST', REQUESTS, { token: busy.apiKey, json: requestBody() }),
      await call(receiver.url, 'GET', REQUESTS, { token: busy.apiKey }),
    ];
    expect(allowed.map((response) => response.status)).toEqual([200, 202, 200]);

    const before = await count('backup_requests');
    const limited = await call(receiver.url, 'POST', REQUESTS, { token: busy.apiKey, json: requestBody() });

    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await count('backup_requests')).toBe(before);

    const other = await call(receiver.url, 'GET', REQUESTS, { token: calm.apiKey });
    expect(other.status).toBe(200);

    const stillLimited = await call(receiver.url, 'GET', REQUESTS, { token: busy.apiKey });
    expect(stillLimited.status).toBe(429);
  });

  it('does not let unauthenticated calls use up a client budget, and answers them 401', async () => {
    const fresh = await createTestApiClient(db.databaseUrl, ['requests:read'], 'fresh');
    for (let i = 0; i < 5; i += 1) expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS));
    expect((await call(receiver.url, 'GET', REQUESTS, { token: fresh.apiKey })).status).toBe(200);
  });

  it('leaves /livez and /readyz out of the budget', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect((await call(receiver.url, 'GET', '/livez', { token: busy.apiKey })).status).toBe(200);
    }
    expect((await call(receiver.url, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('failed authentications per source address', () => {
  const LIMIT = 20;
  let receiver: TestReceiver;
  let ops: TestApiClient;

  beforeAll(async () => {
    // as behind a TLS proxy on this host: the guesser's address comes in X-Forwarded-For
    receiver = await startTestReceiver({ ...baseEnv(), LINEBACKER_AUTH_FAILURES_PER_MINUTE: String(LIMIT), LINEBACKER_TRUST_PROXY: 'loopback' });
    ops = await createTestApiClient(db.databaseUrl, ['ops:read'], 'limits-ops');
  });
  afterAll(() => receiver?.close());

  const GUESSER = { 'x-forwarded-for': '203.0.113.9' };

  /** A counter of this receiver's /metrics, read by the operator (another address than the guesser's). */
  async function metric(name: string, labels = ''): Promise<number> {
    const response = await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey });
    expect(response.status).toBe(200);
    const line = (response.body as string).split('\n').find((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  const guess = () => `lbk_${randomBytes(32).toString('base64url')}`;

  it('answers 1,000 guessed keys from one address with 429 before they cost database lookups', async () => {
    const lookups = () => metric('linebacker_auth_lookups_total', 'kind="api-key"');
    const before = await lookups(); // the ops key's own lookup happened here

    // a wrong key tried again is answered from the negative cache: one lookup
    const same = guess();
    for (let i = 0; i < 5; i += 1) expectUnauthenticated(await call(receiver.url, 'GET', REQUESTS, { token: same, headers: GUESSER }));
    expect((await lookups()) - before).toBe(1);

    const statuses: number[] = [];
    for (let batch = 0; batch < 100; batch += 1) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => call(receiver.url, 'GET', REQUESTS, { token: guess(), headers: GUESSER })));
      statuses.push(...answers.map((answer) => answer.status));
    }
    const unauthenticated = statuses.filter((status) => status === 401).length;
    const limited = statuses.filter((status) => status === 429).length;
    expect(unauthenticated + limited).toBe(1000);
    // 5 failures above, then at most LIMIT in all (plus what one batch had in flight)
    expect(unauthenticated).toBeLessThanOrEqual(LIMIT - 5 + 10);
    expect(limited).toBeGreaterThanOrEqual(1000 - LIMIT);
    // (the operator's own key may be looked up again once its cache entry (10 s) runs out: +1)
    const afterGuesses = (await lookups()) - before;
    expect(afterGuesses).toBeGreaterThanOrEqual(1 + unauthenticated);
    expect(afterGuesses).toBeLessThanOrEqual(2 + unauthenticated);
    expect(await metric('linebacker_auth_throttled_total')).toBe(limited);

    const refused = await call(receiver.url, 'GET', REQUESTS, { token: guess(), headers: GUESSER });
    expect(refused.status).toBe(429);
    expect(refused.body.type).toBe('urn:linebacker:problem:rate-limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // sign-in from that address is refused too, before the key is looked up
    expect((await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: guess() }, headers: GUESSER })).status).toBe(429);
    // even a real key that is not cached yet waits at that address; other addresses are not affected
    const fresh = await createTestApiClient(db.databaseUrl, ['requests:read'], 'behind-the-guesser');
    expect((await call(receiver.url, 'GET', REQUESTS, { token: fresh.apiKey, headers: GUESSER })).status).toBe(429);
    expect((await call(receiver.url, 'GET', REQUESTS, { token: fresh.apiKey })).status).toBe(200);
    // …and once known good (cached), the guesser's failures no longer hold it up
    expect((await call(receiver.url, 'GET', REQUESTS, { token: fresh.apiKey, headers: GUESSER })).status).toBe(200);
    expect((await lookups()) - before).toBeLessThanOrEqual(3 + unauthenticated);
  });
});
