import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { freePort } from '../support/free-port.js';
import { startTestReceiver } from '../support/receiver.js';
import { serverArgs, startRedisServer, type RedisServerProcess } from '../support/redis-server.js';
import { createTestDatabase, testQueuePrefix, type TestDatabase } from '../support/test-database.js';

/*
 * Redis credentials (SPEC §9): a Redis of its own with `requirepass` and an ACL user, reached by the
 * receiver (its producer connection, the created queue, /healthz and /readyz) with the credentials
 * in REDIS_URL or in REDIS_USERNAME / REDIS_PASSWORD. Whatever the way, and with a wrong password
 * too, no password appears in the logs (at debug level) or in /healthz. (Sentinel and Cluster get
 * their credentials through the same factory: test/redis-ha.)
 */

const DEFAULT_PASSWORD = 'Default-user-pw-5c6d7e';
const USER = { name: 'linebacker', password: 'Acl-user-pw-8a9b0c' };
const WRONG_PASSWORD = 'Wrong-pw-maybe-the-old-one-3f2e1d';
const SECRETS = [DEFAULT_PASSWORD, USER.password, WRONG_PASSWORD];

let db: TestDatabase;
let client: TestApiClient;
let dir: string;
let port: number;
let server: RedisServerProcess;
let admin: Redis;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await createTestApiClient(db.databaseUrl, ['requests:write', 'ops:read'], 'redis-credentials');
  dir = await mkdtemp(join(tmpdir(), 'lb-redis-auth-'));
  port = await freePort();
  const user = ['--user', USER.name, 'on', `>${USER.password}`, '~*', '&*', '+@all'];
  server = await startRedisServer(port, [...serverArgs(port, dir), '--requirepass', DEFAULT_PASSWORD, ...user], DEFAULT_PASSWORD);
  admin = new Redis({ port, password: DEFAULT_PASSWORD, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  admin?.disconnect();
  await server?.kill();
  await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

/** A receiver on this Redis with `env`, its logs (debug level) kept; POSTs one request. */
async function receiverWith(env: Record<string, string>) {
  const lines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const prefix = testQueuePrefix();
  const receiver = await startTestReceiver(
    { DATABASE_URL: db.databaseUrl, LINEBACKER_QUEUE_PREFIX: prefix, LINEBACKER_LOG_LEVEL: 'debug', LINEBACKER_HEALTH_REFRESH_MS: '200', ...env },
    { logDestination },
  );
  try {
    const accepted = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
      token: client.apiKey,
      json: { backupJobId: 'nightly', dataDate: '2026-01-01', backupDataLocation: `/data/${prefix}` },
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.backupRequestId as string;
    // the job as it is in this Redis (looked at as the default user)
    const created = new Queue('created', { connection: admin, prefix });
    const jobState = await created.getJobState(id);
    await created.close();
    const readyz = await call(receiver.url, 'GET', '/readyz');
    await new Promise((resolve) => setTimeout(resolve, 600)); // a few health refreshes
    const healthz = await call(receiver.url, 'GET', '/healthz', { token: client.apiKey });
    return { jobState, readyz, healthz, logs: () => lines.join('') };
  } finally {
    await receiver.close();
  }
}

const url = (userinfo = '') => `redis://${userinfo}127.0.0.1:${port}`;

describe('Redis credentials (SPEC §9)', () => {
  // (the environments are made when the test runs: the server's port is known only then)
  it.each<[string, () => Record<string, string>]>([
    ['the default user, password in REDIS_URL', () => ({ REDIS_URL: url(`:${DEFAULT_PASSWORD}@`) })],
    ['an ACL user in REDIS_URL', () => ({ REDIS_URL: url(`${USER.name}:${USER.password}@`) })],
    ['an ACL user in REDIS_USERNAME / REDIS_PASSWORD', () => ({ REDIS_URL: url(), REDIS_USERNAME: USER.name, REDIS_PASSWORD: USER.password })],
    ['REDIS_PASSWORD winning over a stale password in REDIS_URL', () => ({ REDIS_URL: url(`${USER.name}:${WRONG_PASSWORD}@`), REDIS_PASSWORD: USER.password })],
  ])('%s: the job is added, Redis is up in /readyz and /healthz, no password is logged or shown', async (_way, env) => {
    const { jobState, readyz, healthz, logs } = await receiverWith(env());
    expect(jobState).toBe('waiting');
    expect(readyz.body).toMatchObject({ redis: 'up' });
    expect(healthz.body.dependencies.redis.status).toBe('up');
    const shown = `${logs()}\n${JSON.stringify(healthz.body)}\n${JSON.stringify(readyz.body)}`;
    for (const secret of SECRETS) expect(shown).not.toContain(secret);
  });

  it('a wrong password: requests are still accepted (into Postgres), Redis is down in /healthz, and the wrong password is nowhere', async () => {
    const { jobState, readyz, healthz, logs } = await receiverWith({ REDIS_URL: url(), REDIS_USERNAME: USER.name, REDIS_PASSWORD: WRONG_PASSWORD });
    expect(jobState).toBe('unknown');
    expect(readyz.status).toBe(503);
    expect(healthz.body.dependencies.redis.status).toBe('down');
    // Redis refused the AUTH (ioredis puts the command, password included, on that error: logged without it)
    expect(logs()).toContain('WRONGPASS');
    const shown = `${logs()}\n${JSON.stringify(healthz.body)}\n${JSON.stringify(readyz.body)}`;
    for (const secret of SECRETS) expect(shown).not.toContain(secret);
  });
});
