import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundBackupRequest, StatusReply } from '@linebacker/domain';
import { createAzureMessageQueue, type MessageQueue, type PoisonRecord } from '@linebacker/interface-queue';
import { call } from '../support/api-client.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { destroyPipeline, pm2List, pm2, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-services.js';

/*
 * The reply inbox and hostile replies (SPEC §4, issue 12), end to end under PM2: the test is the
 * backup interface (the simulator is off) on an Azurite of its own, and the pipeline runs on a Redis
 * of its own, so the test can FLUSHALL it.
 */

const REQUEST_QUEUE = 'inbox-requests';
const STATUS_QUEUE = 'inbox-statuses';

let redis: PrivateRedis;
let azurite: Azurite;
let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;
let outbound: MessageQueue;
let statuses: MessageQueue;
let poison: MessageQueue;
let sequence = 0;

beforeAll(async () => {
  [redis, azurite] = await Promise.all([startPrivateRedis(), startAzurite()]);
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('inbox', {
    REDIS_URL: redis.url,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    LINEBACKER_SIMULATOR: 'off',
    LINEBACKER_INTERFACE_REQUEST_QUEUE: REQUEST_QUEUE,
    LINEBACKER_INTERFACE_STATUS_QUEUE: STATUS_QUEUE,
    LINEBACKER_RECOVERY_DELAY_MS: '1000',
    LINEBACKER_RECONCILE_INTERVAL_MS: '2000',
    LINEBACKER_RECONCILE_GRACE_MS: '1000',
  }));
  outbound = createAzureMessageQueue(azurite.connectionString, REQUEST_QUEUE);
  statuses = createAzureMessageQueue(azurite.connectionString, STATUS_QUEUE);
  poison = createAzureMessageQueue(azurite.connectionString, `${STATUS_QUEUE}-poison`);
});

afterAll(async () => {
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
  await Promise.all([redis?.destroy(), azurite?.stop()]);
});

async function post(count: number): Promise<string[]> {
  const dataDate = new Date().toISOString().slice(0, 10);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await call(pipeline.url, 'POST', '/api/v1/backup-requests', {
        token: apiKey,
        json: { backupJobId: 'active-a', dataDate, backupDataLocation: `/data/inbox/${sequence++}` },
      });
      expect(response.status).toBe(202);
      return response.body.backupRequestId as string;
    }),
  );
}

const statusesOf = async (ids: string[]) =>
  (
    await pool.query<{ id: string; status: string; reason: string | null; backups: number }>(
      `SELECT r.backup_request_id AS id, r.status, r.status_reason AS reason, count(b.*)::int AS backups
       FROM backup_requests r LEFT JOIN backups b USING (backup_request_id)
       WHERE r.backup_request_id = ANY($1) GROUP BY 1, 2, 3`,
      [ids],
    )
  ).rows;

/** As the backup interface: takes the outbound messages of `ids` off the request queue (all of them). */
async function takeRequests(ids: string[]): Promise<Map<string, OutboundBackupRequest>> {
  const taken = new Map<string, OutboundBackupRequest>();
  const deadline = Date.now() + 60_000;
  while (taken.size < ids.length && Date.now() < deadline) {
    const batch = await outbound.receive(32, 60);
    for (const message of batch) {
      const request = JSON.parse(message.text) as OutboundBackupRequest;
      taken.set(request.backupRequestId, request);
      await outbound.delete(message);
    }
    if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect([...taken.keys()].sort()).toEqual([...ids].sort());
  return taken;
}

function succeeded(request: OutboundBackupRequest, overrides: Partial<StatusReply> = {}): StatusReply {
  return {
    apiVersion: request.apiVersion,
    backupRequestId: request.backupRequestId,
    storagePathName: request.storagePathName,
    resultTypeCode: 'Succeeded',
    backupByteCount: 1024,
    copyStartTimestamp: new Date().toISOString(),
    copyEndTimestamp: new Date().toISOString(),
    ...overrides,
  };
}

async function inboxRows(ids: string[]): Promise<{ id: string; applied: boolean; messageTextLength: number | null }[]> {
  const { rows } = await pool.query<{ id: string; applied: boolean; messageTextLength: number | null }>(
    `SELECT reply->>'backupRequestId' AS id, applied_at IS NOT NULL AS applied, length(reply->>'messageText') AS "messageTextLength"
     FROM reply_inbox WHERE reply->>'backupRequestId' = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

const restarts = async () => Object.fromEntries((await pm2List(pipeline)).map((app) => [app.name, app.pm2_env.restart_time]));

describe('the reply inbox (SPEC §4): a reply taken off the interface queue is never lost', () => {
  it('replies taken while receive-status is stopped, then a Redis FLUSHALL: every request still ends Succeeded', async () => {
    await pm2(pipeline, 'stop', 'receive-status');
    const ids = await post(20);
    await expect.poll(async () => (await statusesOf(ids)).filter((r) => r.status === 'Sent').length, { timeout: 60_000 }).toBe(ids.length);
    const requests = await takeRequests(ids);
    for (const request of requests.values()) await statuses.send(JSON.stringify(succeeded(request)));

    // the external-queue-receiver takes every reply: stored in the inbox, deleted from the queue
    await expect.poll(async () => (await inboxRows(ids)).length, { timeout: 60_000 }).toBe(ids.length);
    await expect.poll(() => statuses.approximateCount(), { timeout: 30_000 }).toBe(0);
    expect((await inboxRows(ids)).every((row) => !row.applied)).toBe(true);

    // every status-received job is wiped before receive-status applies it
    await redis.flushAll();
    await pm2(pipeline, 'start', 'receive-status');

    await expect
      .poll(async () => (await statusesOf(ids)).filter((r) => r.status === 'Succeeded' && r.backups === 1).length, { timeout: 90_000 })
      .toBe(ids.length);
    expect((await inboxRows(ids)).every((row) => row.applied)).toBe(true);
  });
});

describe('hostile replies (SPEC §4): handled one by one, never looping, nothing lost', () => {
  it('a batch of oversized, NUL, huge-hash, long-message and good replies: the good and long ones applied, the bad ones poisoned, no restart', async () => {
    const before = await restarts();
    const [goodId, longId] = await post(2);
    await expect.poll(async () => (await statusesOf([goodId!, longId!])).filter((r) => r.status === 'Sent').length, { timeout: 60_000 }).toBe(2);
    const requests = await takeRequests([goodId!, longId!]);
    const longText = 'the copy failed because '.repeat(1000).slice(0, 22 * 1024);
    const stranger = { ...succeeded(requests.get(goodId!)!), backupRequestId: randomUUID() };
    const bad = [
      'x'.repeat(60 * 1024),
      '"'.repeat(40 * 1024),
      JSON.stringify({ ...stranger, messageText: 'nul \u0000 inside' }),
      JSON.stringify({ ...stranger, verifiedHash: 'f'.repeat(20 * 1000) }),
    ];
    const good = [
      JSON.stringify(succeeded(requests.get(goodId!)!)),
      JSON.stringify(succeeded(requests.get(longId!)!, { resultTypeCode: 'Failed', backupByteCount: 0, messageText: longText })),
    ];
    for (const text of [bad[0]!, good[0]!, bad[1]!, bad[2]!, good[1]!, bad[3]!]) await statuses.send(text);

    // the good and the long one are applied promptly
    await expect
      .poll(async () => Object.fromEntries((await statusesOf([goodId!, longId!])).map((r) => [r.id, r.status])), { timeout: 30_000 })
      .toEqual({ [goodId!]: 'Succeeded', [longId!]: 'Failed' });
    const [long] = await statusesOf([longId!]);
    expect(long?.reason?.length).toBeLessThanOrEqual(500);
    expect(longText.startsWith(long!.reason!.replace(/\.\.\.$/, ''))).toBe(true);
    // the inbox keeps the whole message
    expect((await inboxRows([longId!]))[0]?.messageTextLength).toBe(longText.length);

    // the inbound queue empties; the four bad ones are in the poison queue (or rejected replies)
    await expect.poll(() => statuses.approximateCount(), { timeout: 120_000 }).toBe(0);
    const records: PoisonRecord[] = [];
    for (let batch = await poison.receive(32, 60); batch.length > 0; batch = await poison.receive(32, 60)) {
      records.push(...batch.map((message) => JSON.parse(message.text) as PoisonRecord));
    }
    const { rows: kept } = await pool.query<{ record: string }>(`SELECT poison_record AS record FROM rejected_replies WHERE poison_record IS NOT NULL`);
    records.push(...kept.map((row) => JSON.parse(row.record) as PoisonRecord));
    expect(records.map((record) => record.originalBytes).sort()).toEqual(bad.map((text) => Buffer.byteLength(text)).sort());
    for (const record of records) expect(bad.some((text) => text.startsWith(record.text))).toBe(true);

    // no app restarted
    expect(await restarts()).toEqual(before);
  });
});
