import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptBackupRequest, createWebhookEndpoint, deleteWebhookEndpoint, listDeliveries, recordTransition } from '@linebacker/db';
import type { RequestStatus } from '@linebacker/domain';
import { startNotifier } from '../../apps/notifier/src/start-notifier.js';
import { createTestApiClient } from '../support/api-client.js';
import { waitFor } from '../support/exit-hooks.js';
import { testAppContext } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';
import { startWebhookReceiver, verifyStandardWebhook, type Behaviour, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

// The notifier (SPEC §7, §8) in this process against real Postgres and Redis, delivering to real
// HTTP servers on loopback; signatures are checked with the test's own Standard Webhooks code.
// Small timings: attempts time out after 1.5 s, retries start at 100 ms, deliveries are given up
// after 6 s.

const TIMEOUT_MS = 1500;
const MAX_AGE_MS = 6000;
const NOTIFIER_ENV = {
  LINEBACKER_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  LINEBACKER_WEBHOOK_MAX_AGE_MS: String(MAX_AGE_MS),
  LINEBACKER_WEBHOOK_RETRY_START_MS: '100',
  LINEBACKER_WEBHOOK_RETRY_MAX_MS: '400',
  LINEBACKER_NOTIFIER_POLL_MS: '200',
  LINEBACKER_SHUTDOWN_TIMEOUT_MS: '4000',
  LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
};

let db: TestDatabase;
let pool: pg.Pool;
const notifiers: { close: () => Promise<void> }[] = [];
const receivers: WebhookReceiver[] = [];
let prefix: string;

async function startTestNotifier(databaseUrl: string, env: Record<string, string> = {}): Promise<{ close: () => Promise<void> }> {
  const app = testAppContext({ ...NOTIFIER_ENV, DATABASE_URL: databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: prefix, LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'true', ...env });
  await startNotifier(app.context);
  const handle = { close: app.close };
  notifiers.push(handle);
  return handle;
}

async function receiver(behaviour?: Behaviour): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver({ behaviour });
  receivers.push(started);
  return started;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
  prefix = testQueuePrefix();
});

afterAll(async () => {
  for (const notifier of notifiers) await notifier.close();
  for (const started of receivers) await started.close();
  await pool?.end();
  await db?.drop();
});

const today = new Date().toISOString().slice(0, 10);

/** A client with an endpoint at `url` (statuses: all unless given); returns its id and the endpoint's secret. */
async function clientWithEndpoint(url: string, statuses?: RequestStatus[], database = db.databaseUrl) {
  const { clientId } = await createTestApiClient(database, ['requests:write', 'requests:read'], 'hooked');
  const endpointPool = new pg.Pool({ connectionString: database, max: 1 });
  try {
    const { endpoint, secret } = await createWebhookEndpoint(endpointPool, clientId, { url, statuses }, undefined);
    return { clientId, endpointId: endpoint.endpointId, secret };
  } finally {
    await endpointPool.end();
  }
}

/** A request of `clientId` taken to `path` (after Received), each change committed on its own; returns its id. */
async function request(clientId: string, path: RequestStatus[], reason = 'disk full', on: pg.Pool = pool): Promise<string> {
  const { request: created } = await acceptBackupRequest(on, {
    backupRequestId: uuidv7(),
    requesterId: clientId,
    backupJobId: 'hooked-job',
    dataDate: today,
    backupDataLocation: `/data/${randomUUID()}`,
    traceId: `trace-${randomUUID().slice(0, 8)}`,
  });
  for (const to of path) {
    await recordTransition(on, {
      backupRequestId: created.backupRequestId,
      to,
      reason: to === 'Failed' || to === 'NotAllowed' ? reason : undefined,
      backupProviderCode: to === 'Allowed' ? 'CloudA' : undefined,
      storagePathName: to === 'Allowed' ? 'vault/hooked' : undefined,
    });
  }
  return created.backupRequestId;
}

/** The first attempt received of each webhook-id (answered or not). */
const firstOfEach = (hooks: ReceivedWebhook[]) => [...new Map(hooks.map((hook) => [hook.id, hook])).values()];
const delivered = (hooks: ReceivedWebhook[]) => hooks.filter((hook) => typeof hook.answered === 'number' && hook.answered < 300);

describe('the notifier delivers status events as signed webhooks', () => {
  beforeAll(async () => {
    await startTestNotifier(db.databaseUrl);
  });

  it('POSTs each event of the client, for the statuses it asked for, with Standard Webhooks headers the test verifies', async () => {
    const hooks = await receiver();
    const all = await clientWithEndpoint(`${hooks.url}/all`);
    const failures = await clientWithEndpoint(`${hooks.url}/failures`, ['NotAllowed', 'Failed']);
    const failed = await request(all.clientId, ['Allowed', 'Sent', 'Failed']);
    const succeeded = await request(all.clientId, ['Allowed', 'Sent', 'Succeeded']);
    const notAllowed = await request(failures.clientId, ['NotAllowed'], 'unknown backup job');
    const sent = await request(failures.clientId, ['Allowed', 'Sent']);

    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(8 + 1);
    await sleep(500); // nothing more comes
    expect(hooks.received).toHaveLength(9);
    for (const hook of hooks.received) {
      const secret = hook.path === '/all' ? all.secret : failures.secret;
      expect(verifyStandardWebhook(secret, hook), `${hook.path} ${hook.id}`).toBe(true);
      expect(verifyStandardWebhook(secret === all.secret ? failures.secret : all.secret, hook)).toBe(false);
      expect(hook.id).toBe(hook.event.eventId);
      expect(hook.event.type).toBe('backup-request.status-changed');
      expect(hook.answered).toBe(200);
    }
    const toAll = hooks.received.filter((hook) => hook.path === '/all');
    expect(toAll.every((hook) => hook.event.requesterId === all.clientId)).toBe(true);
    const statuses = (id: string) => toAll.filter((hook) => hook.event.backupRequestId === id).sort((a, b) => a.id.localeCompare(b.id)).map((hook) => hook.event.status);
    expect(statuses(failed)).toEqual(['Received', 'Allowed', 'Sent', 'Failed']);
    expect(statuses(succeeded)).toEqual(['Received', 'Allowed', 'Sent', 'Succeeded']);
    const toFailures = hooks.received.filter((hook) => hook.path === '/failures');
    expect(toFailures.map((hook) => [hook.event.backupRequestId, hook.event.status, hook.event.reason])).toEqual([[notAllowed, 'NotAllowed', 'unknown backup job']]);
    expect(toFailures.some((hook) => hook.event.backupRequestId === sent)).toBe(false);

    // a disabled client's endpoints get no new events
    await pool.query('UPDATE api_clients SET disabled_at = now() WHERE client_id = $1', [failures.clientId]);
    const whileDisabled = await request(failures.clientId, ['NotAllowed'], 'unknown backup job');
    await request(all.clientId, ['NotAllowed']); // a marker: once it arrives, the disabled client's event was passed
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(9 + 2);
    expect(hooks.received.some((hook) => hook.event.backupRequestId === whileDisabled)).toBe(false);

    // what the deliveries API reads (recorded just after each answer)
    await expect.poll(async () => (await listDeliveries(pool, all.endpointId, { limit: 100 })).items.filter((item) => item.deliveredAt).length).toBe(10);
    const { items } = await listDeliveries(pool, all.endpointId, { limit: 100 });
    expect(items).toHaveLength(10);
    expect(items.every((item) => item.deliveredAt !== null && item.attempts === 1 && item.lastStatusCode === 200 && item.nextAttemptAt === null)).toBe(true);
    expect(items.map((item) => Number(item.eventId))).toEqual(items.map((item) => Number(item.eventId)).sort((a, b) => b - a));
  });

  it('an endpoint that fails (500) the first two attempts of every event still gets every status of every request, with the same webhook-id on retries', async () => {
    const flaky = await receiver((hook) => (hook.attempt <= 2 ? 500 : 204));
    const { clientId, endpointId, secret } = await clientWithEndpoint(`${flaky.url}/flaky`);
    const requests = await Promise.all([
      request(clientId, ['Allowed', 'Sent', 'Succeeded']),
      request(clientId, ['Allowed', 'Sent', 'Failed']),
      request(clientId, ['NotAllowed']),
      request(clientId, ['Allowed', 'Sent', 'Failed', 'Succeeded']),
    ]);
    const expected = 4 + 4 + 2 + 5;
    await expect.poll(() => delivered(flaky.received).length, { timeout: 15_000 }).toBe(expected);
    expect(flaky.received).toHaveLength(expected * 3);
    for (const { id } of firstOfEach(flaky.received)) {
      const attempts = flaky.received.filter((hook) => hook.id === id);
      expect(attempts.map((hook) => hook.answered), id).toEqual([500, 500, 204]);
      expect(new Set(attempts.map((hook) => hook.body)).size, 'the same body on every attempt').toBe(1);
      for (const hook of attempts) expect(verifyStandardWebhook(secret, hook)).toBe(true);
    }
    for (const id of requests) {
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM backup_request_status_history WHERE backup_request_id = $1 ORDER BY id', [id]);
      const got = delivered(flaky.received).filter((hook) => hook.event.backupRequestId === id).map((hook) => hook.event.status);
      expect(got.sort(), id).toEqual(rows.map((row) => row.status).sort());
    }
    const recorded = async () => (await listDeliveries(pool, endpointId, { limit: 100 })).items.map((item) => [item.attempts, item.lastStatusCode, item.lastError]);
    await expect.poll(recorded).toEqual(Array.from({ length: expected }, () => [3, 204, null]));
  });

  it("a hanging endpoint (never answers) does not delay another client's endpoint by more than a few seconds", async () => {
    const hanging = await receiver(() => 'hang');
    const prompt = await receiver();
    const slow = await clientWithEndpoint(`${hanging.url}/hang`);
    const quick = await clientWithEndpoint(`${prompt.url}/quick`);
    // a backlog for the hanging endpoint first: 40 events, far more than its concurrency
    await Promise.all(Array.from({ length: 10 }, () => request(slow.clientId, ['Allowed', 'Sent', 'Succeeded'])));
    await sleep(300);
    const committedAt = Date.now();
    const id = await request(quick.clientId, ['NotAllowed'], 'backup job is inactive');
    await expect.poll(() => prompt.received.filter((hook) => hook.event.backupRequestId === id).length, { timeout: 10_000 }).toBe(2);
    const lateness = Math.max(...prompt.received.filter((hook) => hook.event.backupRequestId === id).map((hook) => hook.receivedAt - committedAt));
    expect(lateness).toBeLessThan(3000);
    // the hanging endpoint held at most its own slots (LINEBACKER_WEBHOOK_ENDPOINT_CONCURRENCY, 4)
    expect(hanging.inFlight.get('/hang')!.most).toBeGreaterThan(0);
    expect(hanging.inFlight.get('/hang')!.most).toBeLessThanOrEqual(4);
    const lastError = async () =>
      (await pool.query<{ e: string | null }>('SELECT max(last_error) AS e FROM webhook_deliveries WHERE endpoint_id = $1', [slow.endpointId])).rows[0]!.e;
    await expect.poll(lastError, { timeout: 10_000 }).toBe(`no answer within ${TIMEOUT_MS} ms`);
  });

  it('a dead endpoint: failed after LINEBACKER_WEBHOOK_MAX_AGE_MS with the reason, the endpoint marked failing; the next success clears the mark', async () => {
    const dead = await receiver();
    const port = dead.port;
    await dead.close(); // nothing listens there now: connection refused
    const { clientId, endpointId } = await clientWithEndpoint(`http://127.0.0.1:${port}/dead`);
    await request(clientId, ['NotAllowed']);
    await expect
      .poll(async () => (await listDeliveries(pool, endpointId, { limit: 10 })).items.map((item) => item.failedAt !== null), { timeout: MAX_AGE_MS + 10_000 })
      .toEqual([true, true]);
    const { items } = await listDeliveries(pool, endpointId, { limit: 10 });
    for (const item of items) {
      expect(item.attempts).toBeGreaterThan(2);
      expect(item.lastStatusCode).toBeNull();
      expect(item.lastError).toMatch(/ECONNREFUSED/);
      expect(item.nextAttemptAt).toBeNull();
    }
    const endpoint = async () => (await pool.query('SELECT failing_since, last_delivered_at FROM webhook_endpoints WHERE endpoint_id = $1', [endpointId])).rows[0];
    expect((await endpoint()).failing_since).not.toBeNull();

    const back = await startWebhookReceiver({ port });
    receivers.push(back);
    await request(clientId, ['Allowed']);
    await expect.poll(() => back.received.length, { timeout: 10_000 }).toBe(2);
    await expect.poll(async () => (await endpoint()).failing_since, { timeout: 5000 }).toBeNull();
    expect((await endpoint()).last_delivered_at).not.toBeNull();
  });

  it('deliveries claimed by a notifier that died mid-attempt are attempted again once their lease ends', async () => {
    const hooks = await receiver();
    const { endpointId, secret } = await clientWithEndpoint(`${hooks.url}/orphans`);
    // two deliveries as a notifier leaves them when it dies during their first attempt: leased for 2 s more
    const body = (eventId: number) => JSON.stringify({ eventId: String(eventId).padStart(16, '0'), type: 'backup-request.status-changed' });
    await pool.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, body, attempts, last_attempt_at, locked_until, next_attempt_at)
       SELECT $1, id, ($2::text[])[ord], 1, now(), now() + interval '2 seconds', now() + interval '2 seconds'
       FROM unnest($3::bigint[]) WITH ORDINALITY AS t (id, ord)`,
      [endpointId, [body(9_000_000_001), body(9_000_000_002)], [9_000_000_001, 9_000_000_002]],
    );
    await sleep(1000);
    expect(hooks.received).toEqual([]); // still leased
    await expect.poll(() => hooks.received.map((hook) => hook.id).sort(), { timeout: 10_000 }).toEqual(['0000009000000001', '0000009000000002']);
    for (const hook of hooks.received) expect(verifyStandardWebhook(secret, hook)).toBe(true);
    // (recorded just after the answer)
    const recorded = async () => (await listDeliveries(pool, endpointId, { limit: 10 })).items.map((item) => [item.attempts, item.deliveredAt !== null]);
    await expect.poll(recorded, { timeout: 5000 }).toEqual([[2, true], [2, true]]);
  });
});

describe('several notifiers (pm2 scale notifier N)', () => {
  it('deliver each event to each endpoint once when none dies', async () => {
    await startTestNotifier(db.databaseUrl);
    await startTestNotifier(db.databaseUrl);
    const hooks = await receiver();
    const endpoints = await Promise.all([clientWithEndpoint(`${hooks.url}/a`), clientWithEndpoint(`${hooks.url}/b`), clientWithEndpoint(`${hooks.url}/c`)]);
    await Promise.all(endpoints.flatMap(({ clientId }) => Array.from({ length: 8 }, () => request(clientId, ['Allowed', 'Sent', 'Succeeded']))));
    await expect.poll(() => hooks.received.length, { timeout: 20_000 }).toBe(3 * 8 * 4);
    await sleep(1000);
    expect(hooks.received).toHaveLength(3 * 8 * 4);
    expect(new Set(hooks.received.map((hook) => `${hook.path} ${hook.id}`)).size).toBe(3 * 8 * 4);
  });
});

describe('the destination is checked again at delivery (DNS rebinding)', () => {
  it('a name that now resolves to a loopback address is refused by a notifier that does not allow private addresses', async () => {
    const strictDb = await createTestDatabase();
    const strictPool = new pg.Pool({ connectionString: strictDb.databaseUrl, max: 2 });
    const notifier = await startTestNotifier(strictDb.databaseUrl, { LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'false' });
    try {
      const hooks = await receiver();
      // stored as the API would have taken them when the names still resolved to public addresses
      const byName = await clientWithEndpoint(`http://localhost:${hooks.port}/by-name`, undefined, strictDb.databaseUrl);
      const byAddress = await clientWithEndpoint(`http://127.0.0.1:${hooks.port}/by-address`, undefined, strictDb.databaseUrl);
      await request(byName.clientId, ['NotAllowed'], 'x', strictPool);
      await request(byAddress.clientId, ['NotAllowed'], 'x', strictPool);
      const errors = async (endpointId: string) => (await listDeliveries(strictPool, endpointId, { limit: 10 })).items.map((item) => item.lastError);
      await expect.poll(() => errors(byName.endpointId), { timeout: 10_000 }).toEqual([
        expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), a loopback address: not allowed/),
        expect.stringMatching(/localhost resolves to/),
      ]);
      await expect.poll(() => errors(byAddress.endpointId), { timeout: 10_000 }).toEqual([
        expect.stringMatching(/127\.0\.0\.1 is a loopback address: not allowed/),
        expect.stringMatching(/127\.0\.0\.1 is a loopback address/),
      ]);
      expect(hooks.received).toEqual([]);
    } finally {
      await notifier.close();
      await strictPool.end();
      await strictDb.drop();
    }
  });
});

describe('graceful shutdown', () => {
  it('stops claiming, and gives back the attempts still in flight at the deadline (due again at once, attempt not counted)', async () => {
    const shutdownDb = await createTestDatabase();
    const shutdownPool = new pg.Pool({ connectionString: shutdownDb.databaseUrl, max: 2 });
    try {
      const notifier = await startTestNotifier(shutdownDb.databaseUrl, { LINEBACKER_WEBHOOK_TIMEOUT_MS: '30000' });
      const hanging = await receiver(() => 'hang');
      const { clientId, endpointId } = await clientWithEndpoint(`${hanging.url}/slow`, undefined, shutdownDb.databaseUrl);
      await request(clientId, ['NotAllowed'], 'x', shutdownPool);
      await expect.poll(() => hanging.received.length, { timeout: 10_000 }).toBe(2);
      const started = Date.now();
      await notifier.close();
      expect(Date.now() - started).toBeLessThan(4000);
      const { rows } = await shutdownPool.query(
        'SELECT attempts, locked_until, next_attempt_at <= now() AS due, finished_at FROM webhook_deliveries WHERE endpoint_id = $1',
        [endpointId],
      );
      expect(rows).toEqual([
        { attempts: 0, locked_until: null, due: true, finished_at: null },
        { attempts: 0, locked_until: null, due: true, finished_at: null },
      ]);
    } finally {
      await shutdownPool.end();
      await shutdownDb.drop();
    }
  });
});

describe('event wake-ups (issue 10: nobody is woken for nothing)', () => {
  it('the fan-out leader listens to them only while a webhook endpoint exists', async () => {
    const own = await createTestDatabase();
    const ownPrefix = testQueuePrefix();
    const app = testAppContext({ ...NOTIFIER_ENV, DATABASE_URL: own.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: ownPrefix });
    const redis = new Redis(testRedisUrl());
    const listeners = async () => ((await redis.pubsub('NUMSUB', `${ownPrefix}:linebacker:events`)) as [string, number])[1];
    try {
      await startNotifier(app.context);
      await sleep(1000); // several passes (LINEBACKER_NOTIFIER_POLL_MS 200), none with an endpoint
      expect(await listeners()).toBe(0);
      const { endpointId } = await clientWithEndpoint('http://127.0.0.1:9/hook', undefined, own.databaseUrl);
      await waitFor('a subscription to event wake-ups', async () => (await listeners()) === 1, 3000);
      const endpointPool = new pg.Pool({ connectionString: own.databaseUrl, max: 1 });
      await deleteWebhookEndpoint(endpointPool, endpointId);
      await endpointPool.end();
      await waitFor('no subscription to event wake-ups', async () => (await listeners()) === 0, 3000);
    } finally {
      redis.disconnect();
      await app.close();
      await own.drop();
    }
  });
});
