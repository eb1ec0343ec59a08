import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, type StatusReply } from '@linebacker/domain';
import { createInterfaceQueues, type InterfaceQueues, type ReceivedMessage } from '@linebacker/interface-queue';
import {
  QUEUES,
  createProducerConnection,
  createRequestQueue,
  waitUntilReady,
  type Redis,
  type RequestQueue,
  type StatusReceivedJobData,
} from '@linebacker/queues';
import { receiveReplies, type PoisonMessage, type ReceiveRepliesDeps } from '../../apps/external-queue-receiver/src/receive-replies.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { testQueuePrefix, testRedisUrl } from '../support/test-database.js';

/*
 * external-queue-receiver (SPEC §4, §6): one poll of the interface status queue on a real Azurite
 * into the `status-received` BullMQ queue on a real Redis (a key prefix of its own per test).
 */

const log = pino({ level: 'silent' });
let azurite: Azurite;
/** Closed after each test. */
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await azurite?.stop();
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
async function statusReceivedQueue(redisUrl = testRedisUrl()): Promise<{ queue: RequestQueue<StatusReceivedJobData>; connection: Redis }> {
  const connection = createProducerConnection(redisUrl, 'external-queue-receiver-test');
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
  poll: (overrides?: Partial<ReceiveRepliesDeps>) => Promise<number>;
}

async function setup(redisUrl?: string): Promise<Setup & { connection: Redis }> {
  const queues = await interfaceQueues();
  const { queue, connection } = await statusReceivedQueue(redisUrl);
  return {
    queues,
    statusReceived: queue,
    connection,
    poll: (overrides = {}) =>
      receiveReplies({
        statuses: queues.statuses,
        poison: queues.poison,
        statusReceived: queue,
        batchSize: 32,
        visibilityTimeoutSeconds: 30,
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

describe('valid replies', () => {
  it('become status-received jobs keyed by request and result, and are deleted from the status queue', async () => {
    const { queues, statusReceived, poll } = await setup();
    const succeeded = reply({
      traceId: 'trace-abc',
      verifyStartTimestamp: '2026-01-15T01:06:00Z',
      verifyEndTimestamp: '2026-01-15T01:07:00Z',
      verifiedHash: 'sha256:00ff',
      messageText: 'ok',
    });
    const failed = reply({ resultTypeCode: 'Failed', backupByteCount: 0, messageText: 'disk full' });
    // the same request may get both results: two jobs, one per result
    const failedToo = reply({ ...succeeded, resultTypeCode: 'Failed', traceId: undefined });
    for (const r of [succeeded, failed, failedToo]) await queues.statuses.send(JSON.stringify(r));

    expect(await poll()).toBe(3);

    const job = await statusReceived.getJob(`${succeeded.backupRequestId}-Succeeded`);
    expect(job?.name).toBe(QUEUES.statusReceived);
    expect(job?.data).toEqual({ backupRequestId: succeeded.backupRequestId, traceId: 'trace-abc', reply: succeeded });
    // without a traceId in the reply, receive-status matches the request's own trace id later
    expect((await statusReceived.getJob(`${failed.backupRequestId}-Failed`))?.data).toEqual({
      backupRequestId: failed.backupRequestId,
      traceId: '',
      reply: failed,
    });
    const { traceId: _dropped, ...failedTooWithoutTrace } = failedToo;
    expect((await statusReceived.getJob(`${succeeded.backupRequestId}-Failed`))?.data.reply).toEqual(failedTooWithoutTrace);
    expect(await waitingJobs(statusReceived)).toBe(3);

    expect(await queues.statuses.approximateCount()).toBe(0);
    expect(await poll()).toBe(0);
    expect(await queues.poison.approximateCount()).toBe(0);
  });

  it('the same reply sent twice (in one poll or in two) gives one job', async () => {
    const { queues, statusReceived, poll } = await setup();
    const text = JSON.stringify(reply());
    await queues.statuses.send(text);
    await queues.statuses.send(text);
    expect(await poll()).toBe(2);
    await queues.statuses.send(text);
    expect(await poll()).toBe(1);

    expect(await waitingJobs(statusReceived)).toBe(1);
    expect(await queues.statuses.approximateCount()).toBe(0);
  });

  it('a base64-encoded reply (what some Azure producers send by default) is accepted', async () => {
    const { queues, statusReceived, poll } = await setup();
    const encoded = reply();
    await queues.statuses.send(Buffer.from(JSON.stringify(encoded)).toString('base64'));
    expect(await poll()).toBe(1);
    expect((await statusReceived.getJob(`${encoded.backupRequestId}-Succeeded`))?.data.reply).toEqual(encoded);
    expect(await queues.poison.approximateCount()).toBe(0);
  });

  it('more than 32 waiting replies take several polls of at most 32 each', async () => {
    const { queues, statusReceived, poll } = await setup();
    const replies = Array.from({ length: 70 }, () => reply());
    await Promise.all(replies.map((r) => queues.statuses.send(JSON.stringify(r))));

    const polls: number[] = [];
    for (let handled = await poll(); handled > 0; handled = await poll()) polls.push(handled);

    expect(polls.length).toBeGreaterThanOrEqual(3);
    for (const handled of polls) expect(handled).toBeLessThanOrEqual(32);
    expect(polls.reduce((a, b) => a + b, 0)).toBe(70);
    expect(await waitingJobs(statusReceived)).toBe(70);
    const ids = (await statusReceived.getJobs(['waiting'], 0, -1)).map((job) => job.id).sort();
    expect(ids).toEqual(replies.map((r) => `${r.backupRequestId}-Succeeded`).sort());
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
  ];

  it('end in the poison queue with the reason and the original text, are deleted, and do not block the valid ones', async () => {
    const { queues, statusReceived, poll } = await setup();
    const good = [reply(), reply({ resultTypeCode: 'Failed', messageText: 'no space' })];
    const texts = [JSON.stringify(good[0]), ...invalid.map(([, text]) => text), JSON.stringify(good[1])];
    for (const text of texts) await queues.statuses.send(text);

    expect(await poll()).toBe(texts.length);

    // the valid replies went through
    expect(await waitingJobs(statusReceived)).toBe(2);
    expect(await statusReceived.getJob(`${good[0]?.backupRequestId}-Succeeded`)).toBeDefined();
    expect(await statusReceived.getJob(`${good[1]?.backupRequestId}-Failed`)).toBeDefined();

    // every invalid one is in the poison queue once, as JSON with its reason and its original text
    const poisoned = (await drain(queues.poison)).map((m) => JSON.parse(m.text) as PoisonMessage);
    expect(poisoned).toHaveLength(invalid.length);
    for (const [kind, text, reason] of invalid) {
      const entry = poisoned.find((p) => p.text === text);
      expect(entry, kind).toBeDefined();
      expect(entry?.reason, kind).toMatch(reason);
      expect(entry, kind).toMatchObject({ sourceQueue: queues.statuses.name, dequeueCount: 1, messageId: expect.any(String) });
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
    const [poisoned] = await drain(queues.poison);
    const { reason } = JSON.parse(poisoned?.text ?? '{}') as PoisonMessage;
    expect(reason).toMatch(/backupRequestId/);
    expect(reason).toMatch(/resultTypeCode/);
    expect(reason).toMatch(/copyStartTimestamp/);
  });

  it('when the poison queue cannot be written, nothing is deleted', async () => {
    const { queues, statusReceived, poll } = await setup();
    const missing = createInterfaceQueues({
      connectionString: azurite.connectionString,
      requestQueue: 'unused',
      statusQueue: queues.statuses.name,
      poisonQueue: `missing-${randomBytes(6).toString('hex')}`,
    }).poison;
    await queues.statuses.send('not json');
    await queues.statuses.send(JSON.stringify(reply()));

    await expect(poll({ poison: missing, visibilityTimeoutSeconds: 1 })).rejects.toThrow(/queue does not exist/);

    expect(await queues.statuses.approximateCount()).toBe(2);
    // the valid reply's job was added first (adding it again later is a no-op); nothing was deleted
    expect(await waitingJobs(statusReceived)).toBe(1);
  });
});

describe('with Redis unreachable (SPEC §6)', () => {
  it('rejects and deletes nothing; after Redis is back and the visibility timeout, the replies are processed', async () => {
    const redisUrl = new URL(testRedisUrl());
    const proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(redisUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const { queues, statusReceived, connection, poll } = await setup(viaProxy.toString());

    const replies = Array.from({ length: 5 }, () => reply());
    const texts = [...replies.map((r) => JSON.stringify(r)), 'not json'];
    for (const text of texts) await queues.statuses.send(text);

    await proxy.cut();
    // wait until the client has noticed, as it would have long before a real poll
    for (let i = 0; i < 100 && connection.status === 'ready'; i += 1) await sleep(20);

    const failure = await poll({ visibilityTimeoutSeconds: 1 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'redis' });
    // nothing was deleted (the count includes the messages that are invisible for now)
    expect(await queues.statuses.approximateCount()).toBe(texts.length);

    await proxy.restore();
    expect(await waitUntilReady(connection, 10_000)).toBe(true);
    expect(await waitingJobs(statusReceived)).toBe(0);

    // the messages come back after their visibility timeout (1 s), received a second time
    const seen: number[] = [];
    const deadline = Date.now() + 10_000;
    while (seen.reduce((a, b) => a + b, 0) < texts.length && Date.now() < deadline) {
      const handled = await poll({ visibilityTimeoutSeconds: 1 });
      if (handled > 0) seen.push(handled);
      else await sleep(100);
    }
    expect(seen.reduce((a, b) => a + b, 0)).toBe(texts.length);

    expect(await waitingJobs(statusReceived)).toBe(replies.length);
    for (const r of replies) {
      expect((await statusReceived.getJob(`${r.backupRequestId}-Succeeded`))?.data.reply).toEqual(r);
    }
    expect(await queues.statuses.approximateCount()).toBe(0);
    // the invalid message reached the poison queue (on the failed poll too: the poison copy is
    // written before the jobs are added, so an outage may leave a duplicate, never a loss)
    const poisoned = (await drain(queues.poison)).map((m) => JSON.parse(m.text) as PoisonMessage);
    expect(poisoned.length).toBeGreaterThanOrEqual(1);
    expect(poisoned.every((p) => p.text === 'not json')).toBe(true);
    expect(poisoned.some((p) => p.dequeueCount === 2)).toBe(true);
  });
});
