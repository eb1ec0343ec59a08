import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import type { Pool } from '@linebacker/db';
import { DependencyUnavailableError, type StatusReply } from '@linebacker/domain';
import { createInterfaceQueues, type InterfaceQueues, type PoisonRecord, type ReceivedMessage } from '@linebacker/interface-queue';
import {
  QUEUES,
  STATUS_JOB_REPLY_MAX_CHARS,
  createProducerConnection,
  createRequestQueue,
  statusReceivedJobId,
  waitUntilReady,
  type RedisClient,
  type RequestQueue,
  type StatusReceivedJobData,
} from '@linebacker/queues';
import { receiveReplies, type ReceiveRepliesDeps } from '../../apps/external-queue-receiver/src/receive-replies.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { poolBehindProxy } from '../support/database-proxy.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * external-queue-receiver (SPEC §4, §6): one poll of the interface status queue on a real Azurite
 * into the reply inbox on a real Postgres and the `status-received` BullMQ queue on a real Redis (a
 * key prefix of its own per test).
 */

const log = pino({ level: 'silent' });
let azurite: Azurite;
let db: TestDatabase;
/** Closed after each test. */
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [azurite, db] = await Promise.all([startAzurite(), createTestDatabase()]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await azurite?.stop();
  await db?.drop();
});

/** Fresh, existing status and poison queues (Azure names: lowercase letters, digits, single hyphens). */
async function interfaceQueues(): Promise<InterfaceQueues> {
  const suffix = randomBytes(6).toString('hex');
  const queues = createInterfaceQueues({
    connectionString: azurite.connectionString,
    requestQueue: `requests-${suffix}`,
    statusQueue: `statuses-${suffix}`,
    poisonQueue: `poison-${suffix}`,
  });
  await Promise.all([queues.statuses.ensureExists(), queues.poison.ensureExists()]);
  return queues;
}

/** The `status-received` queue under a prefix of its own, on a producer connection as the app uses. */
async function statusReceivedQueue(redisUrl = testRedisUrl()): Promise<{ queue: RequestQueue<StatusReceivedJobData>; connection: RedisClient }> {
  const connection = createProducerConnection(loadConfig({ REDIS_URL: redisUrl }).redis, 'external-queue-receiver-test');
  connection.on('error', () => {});
  const queue = createRequestQueue<StatusReceivedJobData>(QUEUES.statusReceived, connection, testQueuePrefix(), () => {});
  cleanups.push(async () => {
    await queue.close().catch(() => {});
    connection.disconnect();
  });
  if (!(await waitUntilReady(connection, 10_000))) throw new Error('Redis did not become ready');
  return { queue, connection };
}

interface Setup {
  queues: InterfaceQueues;
  statusReceived: RequestQueue<StatusReceivedJobData>;
  connection: RedisClient;
  /** libs/db's pool, behind a proxy of its own (cut it for a Postgres outage). */
  pool: Pool;
  postgres: TcpProxy;
  poll: (overrides?: Partial<ReceiveRepliesDeps>) => Promise<number>;
}

async function setup(redisUrl?: string): Promise<Setup> {
  const queues = await interfaceQueues();
  const { queue, connection } = await statusReceivedQueue(redisUrl);
  const { pool, proxy, close } = await poolBehindProxy(db.databaseUrl);
  cleanups.push(close);
  return {
    queues,
    statusReceived: queue,
    connection,
    pool,
    postgres: proxy,
    poll: (overrides = {}) =>
      receiveReplies({
        statuses: queues.statuses,
        poison: queues.poison,
        db: pool,
        statusReceived: queue,
        batchSize: 32,
        visibilityTimeoutSeconds: 30,
        maxDequeueCount: 5,
        log,
        ...overrides,
      }),
  };
}

function reply(overrides: Partial<StatusReply> = {}): StatusReply {
  return {
    apiVersion: '2022-05-22',
    backupRequestId: randomUUID(),
    storagePathName: 'vault/nightly',
    resultTypeCode: 'Succeeded',
    backupByteCount: 4096,
    copyStartTimestamp: '2026-01-15T01:00:00Z',
    copyEndTimestamp: '2026-01-15T01:05:00Z',
    ...overrides,
  };
}

interface InboxRow {
  inboxId: string;
  sourceQueue: string;
  messageId: string;
  reply: StatusReply;
  applied: boolean;
}

/** The inbox rows of one status queue, oldest first. */
async function inbox(pool: Pool, sourceQueue: string): Promise<InboxRow[]> {
  const { rows } = await pool.query<InboxRow>(
    `SELECT inbox_id::text AS "inboxId", source_queue AS "sourceQueue", message_id AS "messageId", reply,
       applied_at IS NOT NULL AS applied
     FROM reply_inbox WHERE source_queue = $1 ORDER BY inbox_id`,
    [sourceQueue],
  );
  return rows;
}

/** Everything in a queue right now (received with a long visibility timeout, not deleted). */
async function drain(queue: InterfaceQueues['poison']): Promise<ReceivedMessage[]> {
  const all: ReceivedMessage[] = [];
  for (;;) {
    const batch = await queue.receive(32, 60);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

const waitingJobs = (queue: RequestQueue<StatusReceivedJobData>) => queue.getJobCountByTypes('waiting', 'delayed', 'active');

const poisonRecords = async (queue: InterfaceQueues['poison']) => (await drain(queue)).map((m) => JSON.parse(m.text) as PoisonRecord);

describe('valid replies (SPEC §4: durable in the inbox before the message is deleted)', () => {
  it('are stored in the inbox, one row per message, woken as status-received jobs keyed by inbox row, and deleted', async () => {
    const { queues, statusReceived, pool, poll } = await setup();
    const succeeded = reply({
      traceId: 'trace-abc',
      verifyStartTimestamp: '2026-01-15T01:06:00Z',
      verifyEndTimestamp: '2026-01-15T01:07:00Z',
      verifiedHash: 'sha256:00ff',
      messageText: 'ok',
    });
    const failed = reply({ resultTypeCode: 'Failed', backupByteCount: 0, messageText: 'disk full' });
    for (const r of [succeeded, failed]) await queues.statuses.send(JSON.stringify(r));

    expect(await poll()).toBe(2);

    const rows = await inbox(pool, queues.statuses.name);
    expect(rows.map((row) => row.reply)).toEqual([succeeded, failed]);
    expect(rows.every((row) => !row.applied && row.messageId.length > 0)).toBe(true);
    const [first, second] = rows;
    const job = await statusReceived.getJob(statusReceivedJobId(first!.inboxId));
    expect(job?.name).toBe(QUEUES.statusReceived);
    // the job is a wake-up: it names the inbox row, with a copy of a small reply (receive-status
    // applies the copy only if the row holds exactly that reply)
    expect(job?.data).toEqual({
      inboxId: first!.inboxId,
      backupRequestId: succeeded.backupRequestId,
      traceId: 'trace-abc',
      receivedAt: expect.any(String),
      reply: succeeded,
    });
    // without a traceId in the reply, receive-status matches the request's own trace id later
    expect((await statusReceived.getJob(statusReceivedJobId(second!.inboxId)))?.data).toMatchObject({ inboxId: second!.inboxId, traceId: '' });
    expect(await waitingJobs(statusReceived)).toBe(2);

    expect(await queues.statuses.approximateCount()).toBe(0);
    expect(await poll()).toBe(0);
    expect(await queues.poison.approximateCount()).toBe(0);
  });

  it(`a reply whose text is over ${STATUS_JOB_REPLY_MAX_CHARS} characters is woken without a copy (the inbox keeps it whole)`, async () => {
    const { queues, statusReceived, pool, poll } = await setup();
    const long = reply({ resultTypeCode: 'Failed', backupByteCount: 0, messageText: 'x'.repeat(STATUS_JOB_REPLY_MAX_CHARS) });
    const short = reply({ resultTypeCode: 'Failed', backupByteCount: 0, messageText: 'x'.repeat(100) });
    for (const r of [long, short]) await queues.statuses.send(JSON.stringify(r));
    expect(await poll()).toBe(2);
    const [longRow, shortRow] = await inbox(pool, queues.statuses.name);
    expect(longRow!.reply).toEqual(long);
    expect((await statusReceived.getJob(statusReceivedJobId(longRow!.inboxId)))?.data).not.toHaveProperty('reply');
    expect((await statusReceived.getJob(statusReceivedJobId(shortRow!.inboxId)))?.data).toHaveProperty('reply', short);
  });

  it('a message delivered again (its delete was lost) is stored once and woken once', async () => {
    const { queues, statusReceived, pool, poll } = await setup();
    await queues.statuses.send(JSON.stringify(reply()));
    // first delivery: stored, but the delete never happens (as if the receiver died before it)
    const keep = { ...queues.statuses, name: queues.statuses.name, delete: async () => true };
    expect(await poll({ statuses: keep, visibilityTimeoutSeconds: 1 })).toBe(1);
    await sleep(1500);
    expect(await poll()).toBe(1);

    expect(await inbox(pool, queues.statuses.name)).toHaveLength(1);
    expect(await waitingJobs(statusReceived)).toBe(1);
    expect(await queues.statuses.approximateCount()).toBe(0);
  });

  it('a base64-encoded reply (what some Azure producers send by default) is accepted', async () => {
    const { queues, pool, poll } = await setup();
    const encoded = reply();
    await queues.statuses.send(Buffer.from(JSON.stringify(encoded)).toString('base64'));
    expect(await poll()).toBe(1);
    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply)).toEqual([encoded]);
    expect(await queues.poison.approximateCount()).toBe(0);
  });

  it('more than 32 waiting replies take several polls of at most 32 each, one INSERT per poll', async () => {
    const { queues, statusReceived, pool, poll } = await setup();
    const replies = Array.from({ length: 70 }, () => reply());
    await Promise.all(replies.map((r) => queues.statuses.send(JSON.stringify(r))));

    const polls: number[] = [];
    for (let handled = await poll(); handled > 0; handled = await poll()) polls.push(handled);

    expect(polls.length).toBeGreaterThanOrEqual(3);
    for (const handled of polls) expect(handled).toBeLessThanOrEqual(32);
    expect(polls.reduce((a, b) => a + b, 0)).toBe(70);
    const rows = await inbox(pool, queues.statuses.name);
    expect(rows.map((row) => row.reply.backupRequestId).sort()).toEqual(replies.map((r) => r.backupRequestId).sort());
    expect(await waitingJobs(statusReceived)).toBe(70);
    expect(await queues.statuses.approximateCount()).toBe(0);
  });
});

describe('invalid replies (SPEC §4: poison queue, never looping, never dropped)', () => {
  const valid = reply();
  const invalid: [kind: string, text: string, reason: RegExp][] = [
    ['not JSON', 'this is not json {', /not valid JSON/],
    ['truncated JSON', JSON.stringify(valid).slice(0, 40), /not valid JSON/],
    ['a JSON array', '[1,2,3]', /must be a JSON object/],
    ['a JSON string', '"Succeeded"', /must be a JSON object/],
    ['JSON null', 'null', /must be a JSON object/],
    ['a backupRequestId that is no UUID', JSON.stringify({ ...valid, backupRequestId: 'req-42' }), /backupRequestId: must be a UUID/],
    ['an unknown resultTypeCode', JSON.stringify({ ...valid, resultTypeCode: 'Maybe' }), /resultTypeCode: must be "Succeeded" or "Failed"/],
    ['a negative byte count', JSON.stringify({ ...valid, backupByteCount: -1 }), /backupByteCount: must not be negative/],
    ['a byte count as a string', JSON.stringify({ ...valid, backupByteCount: '4096' }), /backupByteCount: must be a number/],
    ['a timestamp that is not ISO 8601', JSON.stringify({ ...valid, copyEndTimestamp: 'yesterday' }), /copyEndTimestamp: must be an ISO 8601 timestamp/],
    ['missing fields', JSON.stringify({ apiVersion: '2022-05-22', backupRequestId: valid.backupRequestId }), /storagePathName.*resultTypeCode.*backupByteCount/],
    ['a NUL character', JSON.stringify({ ...valid, messageText: 'bad\u0000byte' }), /messageText: contains a NUL character/],
    ['an unpaired surrogate', JSON.stringify({ ...valid, storagePathName: 'vault/\ud800x' }), /storagePathName: contains an unpaired surrogate/],
    ['a hash longer than any real one', JSON.stringify({ ...valid, verifiedHash: 'ab'.repeat(10_000) }), /verifiedHash/],
    ['an apiVersion longer than any real one', JSON.stringify({ ...valid, apiVersion: 'v'.repeat(1000) }), /apiVersion/],
  ];

  it('end in the poison queue with the reason, the original text, its length and SHA-256, are deleted, and do not block the valid ones', async () => {
    const { queues, pool, poll } = await setup();
    const good = [reply(), reply({ resultTypeCode: 'Failed', messageText: 'no space' })];
    const texts = [JSON.stringify(good[0]), ...invalid.map(([, text]) => text), JSON.stringify(good[1])];
    for (const text of texts) await queues.statuses.send(text);

    expect(await poll()).toBe(texts.length);

    // the valid replies went through
    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply)).toEqual(good);

    // every invalid one is in the poison queue once, as JSON with its reason and its original text
    const poisoned = await poisonRecords(queues.poison);
    expect(poisoned).toHaveLength(invalid.length);
    for (const [kind, text, reason] of invalid) {
      const entry = poisoned.find((p) => p.text === text);
      expect(entry, kind).toBeDefined();
      expect(entry?.reason, kind).toMatch(reason);
      expect(entry, kind).toMatchObject({
        sourceQueue: queues.statuses.name,
        dequeueCount: 1,
        messageId: expect.any(String),
        originalBytes: Buffer.byteLength(text),
        truncated: false,
      });
      expect(entry?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isNaN(Date.parse(entry?.poisonedAt ?? ''))).toBe(false);
    }

    // nothing loops: the status queue is empty and the next poll finds nothing
    expect(await queues.statuses.approximateCount()).toBe(0);
    expect(await poll()).toBe(0);
  });

  it('a reply naming several problems gets all of them in one reason', async () => {
    const { queues, poll } = await setup();
    const text = JSON.stringify({ ...valid, backupRequestId: 42, resultTypeCode: 'Done', copyStartTimestamp: null });
    await queues.statuses.send(text);
    await poll();
    const [poisoned] = await poisonRecords(queues.poison);
    expect(poisoned?.reason).toMatch(/backupRequestId/);
    expect(poisoned?.reason).toMatch(/resultTypeCode/);
    expect(poisoned?.reason).toMatch(/copyStartTimestamp/);
  });

  it('texts near the 64 KiB limit: the poison record is cut to fit, with the original length and SHA-256', async () => {
    const { queues, pool, poll } = await setup();
    const nonJson = 'x'.repeat(60 * 1024);
    const quotes = '"'.repeat(40 * 1024);
    const longFailure = reply({ resultTypeCode: 'Failed', backupByteCount: 0, messageText: 'why '.repeat(5_500) });
    for (const text of [nonJson, quotes, JSON.stringify(longFailure)]) await queues.statuses.send(text);

    expect(await poll()).toBe(3);

    // the long Failed reply is a reply: stored whole
    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply)).toEqual([longFailure]);
    const poisoned = await poisonRecords(queues.poison);
    expect(poisoned).toHaveLength(2);
    for (const original of [nonJson, quotes]) {
      const entry = poisoned.find((p) => p.originalBytes === Buffer.byteLength(original) && original.startsWith(p.text));
      expect(entry).toBeDefined();
      expect(entry?.truncated).toBe(true);
      expect(entry?.text.length).toBeGreaterThan(1000);
      expect(entry?.sha256).toBe(createHash('sha256').update(original).digest('hex'));
    }
    expect(await queues.statuses.approximateCount()).toBe(0);
  });

  it('a message delivered more than LINEBACKER_MAX_DEQUEUE_COUNT times goes to the poison queue unhandled', async () => {
    const { queues, pool, poll } = await setup();
    const text = JSON.stringify(reply());
    await queues.statuses.send(text);
    // three receives that never handle it (as if each crashed the receiver)
    for (let i = 0; i < 3; i += 1) {
      await queues.statuses.receive(1, 1);
      await sleep(1100);
    }
    expect(await poll({ maxDequeueCount: 3 })).toBe(1);
    expect(await inbox(pool, queues.statuses.name)).toEqual([]);
    const [poisoned] = await poisonRecords(queues.poison);
    expect(poisoned).toMatchObject({ text, dequeueCount: 4, reason: 'delivered 4 times without being handled (limit 3)' });
    expect(await queues.statuses.approximateCount()).toBe(0);
  });

  it('when the poison queue refuses the record, it is kept in rejected_replies and the message deleted', async () => {
    const { queues, pool, poll } = await setup();
    const missing = createInterfaceQueues({
      connectionString: azurite.connectionString,
      requestQueue: 'unused',
      statusQueue: queues.statuses.name,
      poisonQueue: `missing-${randomBytes(6).toString('hex')}`,
    }).poison;
    const bad = `not json ${randomUUID()}`;
    const good = reply();
    await queues.statuses.send(bad);
    await queues.statuses.send(JSON.stringify(good));

    expect(await poll({ poison: missing })).toBe(2);

    expect(await queues.statuses.approximateCount()).toBe(0);
    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply)).toEqual([good]);
    const { rows } = await pool.query<{ reason: string; record: string }>(
      `SELECT reason, poison_record AS record FROM rejected_replies WHERE poison_record LIKE '%' || $1 || '%'`,
      [bad.slice(-36)],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.reason).toMatch(/not valid JSON/);
    expect((JSON.parse(rows[0]!.record) as PoisonRecord).text).toBe(bad);
  });

  it('a reply Postgres refuses (a data exception) goes to the poison queue; the rest of the batch is stored', async () => {
    const { queues, pool, poll } = await setup();
    // a real data exception (SQLSTATE class 22) for one reply, raised by Postgres itself
    const marker = `refuse_${randomBytes(4).toString('hex')}`;
    await pool.query(`CREATE FUNCTION ${marker}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.reply->>'storagePathName' = '${marker}' THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023'; END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE TRIGGER ${marker} BEFORE INSERT ON reply_inbox FOR EACH ROW EXECUTE FUNCTION ${marker}()`);
    cleanups.push(() => pool.query(`DROP TRIGGER ${marker} ON reply_inbox`));
    const refused = reply({ storagePathName: marker });
    const others = [reply(), reply()];
    for (const r of [others[0], refused, others[1]]) await queues.statuses.send(JSON.stringify(r));

    expect(await poll()).toBe(3);

    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply)).toEqual(others);
    const [poisoned] = await poisonRecords(queues.poison);
    expect(poisoned?.reason).toMatch(/the reply inbox refused it: Postgres refused the data \(SQLSTATE 22023\)/);
    expect(JSON.parse(poisoned!.text)).toEqual(refused);
    expect(await queues.statuses.approximateCount()).toBe(0);
  });
});

describe('with Redis unreachable (SPEC §4, §6)', () => {
  it('the replies are stored and deleted anyway: the inbox keeps them until reconciliation wakes receive-status', async () => {
    const redisUrl = new URL(testRedisUrl());
    const proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(redisUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const { queues, statusReceived, connection, pool, poll } = await setup(viaProxy.toString());

    const replies = Array.from({ length: 5 }, () => reply());
    for (const r of replies) await queues.statuses.send(JSON.stringify(r));

    await proxy.cut();
    // wait until the client has noticed, as it would have long before a real poll
    for (let i = 0; i < 100 && connection.status === 'ready'; i += 1) await sleep(20);

    expect(await poll()).toBe(replies.length);
    expect(await queues.statuses.approximateCount()).toBe(0);
    const rows = await inbox(pool, queues.statuses.name);
    expect(rows.map((row) => row.reply)).toEqual(replies);
    expect(rows.every((row) => !row.applied)).toBe(true);

    await proxy.restore();
    expect(await waitUntilReady(connection, 10_000)).toBe(true);
    expect(await waitingJobs(statusReceived)).toBe(0);
  });
});

describe('with Postgres unreachable (SPEC §4)', () => {
  it('rejects and deletes no reply (they come back); what cannot be a reply still goes to the poison queue', async () => {
    const { queues, statusReceived, pool, postgres, poll } = await setup();
    const replies = Array.from({ length: 4 }, () => reply());
    for (const text of [...replies.map((r) => JSON.stringify(r)), 'not json']) await queues.statuses.send(text);

    await postgres.cut();
    const failure = await poll({ visibilityTimeoutSeconds: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'postgres' });
    // the replies stay (the count includes the messages that are invisible for now); the invalid one is gone
    expect(await queues.statuses.approximateCount()).toBe(replies.length);
    expect((await poisonRecords(queues.poison)).map((p) => p.text)).toEqual(['not json']);
    expect(await waitingJobs(statusReceived)).toBe(0);

    await postgres.restore();
    // the replies come back after their visibility timeout (1 s), received a second time
    const deadline = Date.now() + 10_000;
    let seen = 0;
    while (seen < replies.length && Date.now() < deadline) {
      const handled = await poll().catch(() => 0);
      if (handled > 0) seen += handled;
      else await sleep(200);
    }
    expect(seen).toBe(replies.length);
    expect((await inbox(pool, queues.statuses.name)).map((row) => row.reply.backupRequestId).sort()).toEqual(
      replies.map((r) => r.backupRequestId).sort(),
    );
    expect(await waitingJobs(statusReceived)).toBe(replies.length);
    expect(await queues.statuses.approximateCount()).toBe(0);
  });
});
