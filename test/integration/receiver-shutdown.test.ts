import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callWithAgent, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let client: TestApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = await createTestApiClient(db.databaseUrl, ['requests:write']);
});
afterAll(() => db?.drop());

describe('graceful shutdown (SIGINT)', () => {
  it('finishes the requests in flight, then refuses new connections', async () => {
    const receiver = await startTestReceiver({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: testRedisUrl(),
      LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
    });
    const dataDate = new Date().toISOString().slice(0, 10);
    const inFlight = Array.from({ length: 30 }, (_, i) =>
      call(receiver.url, 'POST', '/api/v1/backup-requests', {
        token: client.apiKey,
        json: { backupJobId: 'shutdown-job', dataDate, backupDataLocation: `/data/shutdown/${i}` },
      }),
    );
    // shut down once the server is serving them (the first rows are committed), not before
    const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
    const stored = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM backup_requests')).rows[0]!.n;
    await expect.poll(stored, { timeout: 10_000, interval: 2 }).toBeGreaterThan(0);
    const closing = receiver.close();
    const responses = await Promise.allSettled(inFlight);
    await closing;

    const answered = responses.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(answered.length).toBeGreaterThan(0);
    for (const response of answered) expect(response.status).toBe(202);

    expect(await stored()).toBe(answered.length);
    await pool.end();

    await expect(fetch(`${receiver.url}/livez`)).rejects.toThrow();
  });

  it('never closes an idle keep-alive connection under its client: a request on it is answered with Connection: close', async () => {
    const keepAliveMs = 2000;
    const receiver = await startTestReceiver({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: testRedisUrl(),
      LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
      LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS: String(keepAliveMs),
    });
    const dataDate = new Date().toISOString().slice(0, 10);
    const post = (agent: Agent, n: number) =>
      callWithAgent(agent, receiver.url, 'POST', '/api/v1/backup-requests', {
        token: client.apiKey,
        json: { backupJobId: 'shutdown-job', dataDate, backupDataLocation: `/data/keep-alive/${n}` },
      });
    // agents without a `timeout` keep an idle connection until the server closes it
    const reused = new Agent({ keepAlive: true });
    const idle = new Agent({ keepAlive: true });
    const first = await post(reused, 1);
    expect(first.headers.get('keep-alive')).toBe(`timeout=${keepAliveMs / 1000}`);
    await post(idle, 2);
    const idleAnswered = Date.now();
    const idleClosed = new Promise<number>((resolve) => Object.values(idle.freeSockets)[0]![0]!.once('close', () => resolve(Date.now())));

    const closing = receiver.close();
    // well into the shutdown (the connection used to be closed 1.5 s into it), a client reuses
    // its idle connection: the request is answered, and the connection ends after it
    await sleep(1_800);
    const late = await post(reused, 3);
    expect(late).toMatchObject({ status: 202, reusedSocket: true });
    expect(late.headers.get('connection')).toBe('close');

    // a connection left idle is closed only after the keep-alive timeout the server announced
    // (Node: a second after it), which is when the shutdown ends
    expect((await idleClosed) - idleAnswered).toBeGreaterThanOrEqual(keepAliveMs);
    await closing;
    expect(Date.now() - idleAnswered).toBeLessThan(keepAliveMs + 2_500);
    reused.destroy();
    idle.destroy();
  });
});
