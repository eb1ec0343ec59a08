import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
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
});
