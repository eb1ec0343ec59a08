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
    // let the requests reach the server, then shut down while they are being served
    await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = receiver.close();
    const responses = await Promise.allSettled(inFlight);
    await closing;

    const answered = responses.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(answered.length).toBeGreaterThan(0);
    for (const response of answered) expect(response.status).toBe(202);

    const pool = new pg.Pool({ connectionString: db.databaseUrl, max: 1 });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM backup_requests');
    await pool.end();
    expect(rows[0].n).toBe(answered.length);

    await expect(fetch(`${receiver.url}/livez`)).rejects.toThrow();
  });
});
