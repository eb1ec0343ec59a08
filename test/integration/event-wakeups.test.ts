import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { subscribeToEventWakeups, type WakeupSubscription } from '@linebacker/queues';
import { call, createTestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

// Event readers learn of new status events through Redis pub/sub (libs/queues wakeups.ts): the
// receiver publishes when it accepts a request (its Received event is committed with it).

let db: TestDatabase;
let receiver: TestReceiver;
let subscription: WakeupSubscription;
let wakeups = 0;
const prefix = testQueuePrefix();

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startTestReceiver({ DATABASE_URL: db.databaseUrl, REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: prefix });
  subscription = subscribeToEventWakeups(loadConfig({ REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: prefix }).redis, () => (wakeups += 1));
});

afterAll(async () => {
  subscription?.close();
  await receiver?.close();
  await db?.drop();
});

it('a subscriber is woken when a request is accepted, and not by another prefix', async () => {
  const { apiKey } = await createTestApiClient(db.databaseUrl, ['requests:write']);
  // the subscriber's first (re)connect wakes it once: readers catch up on what they missed
  await expect.poll(() => wakeups, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
  const before = wakeups;
  let otherWakeups = 0;
  const other = subscribeToEventWakeups(loadConfig({ REDIS_URL: testRedisUrl(), LINEBACKER_QUEUE_PREFIX: `${prefix}-other` }).redis, () => (otherWakeups += 1));
  await expect.poll(() => otherWakeups, { timeout: 5000 }).toBe(1);
  const response = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
    token: apiKey,
    json: { backupJobId: 'wake', dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: '/data/wake' },
  });
  expect(response.status).toBe(202);
  await expect.poll(() => wakeups, { timeout: 5000 }).toBe(before + 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(otherWakeups).toBe(1);
  other.close();
});
