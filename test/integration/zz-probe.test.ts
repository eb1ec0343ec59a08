import { afterAll, beforeAll, it } from 'vitest';
import { call, createTestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';
let db: TestDatabase; let r: TestReceiver;
beforeAll(async () => { db = await createTestDatabase(); r = await startTestReceiver({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: testQueuePrefix() }); });
afterAll(async () => { await r.close(); await db.drop(); });
it('probe', async () => {
  const a = await createTestApiClient(db.databaseUrl, ['jobs:admin', 'requests:read']);
  for (const p of ['/api/v1/backup-jobs?cursor=AA', '/api/v1/backup-jobs?cursor=garbage', '/api/v1/backup-jobs/a%00b', '/api/v1/backup-jobs/%FF', '/api/v1/backup-requests?cursor=AA', '/api/v1/backup-requests?backupJobId=a&backupJobId=b', '/api/v1/backup-requests?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OQ', '/api/v1/backup-requests?since=0001-01-01', '/api/v1/backup-requests?since=2020-01-01T00:00:00%2B99:00']) {
    const res = await call(r.url, 'GET', p, { token: a.apiKey });
    console.log(p, res.status, JSON.stringify(res.body).slice(0, 300));
  }
});
