import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '@linebacker/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, INTERFACE_API_VERSION } from '@linebacker/domain';
import { createAzureMessageQueue, createSendWindow, type MessageQueue, type SendWindow } from '@linebacker/interface-queue';
import { QUEUES, createRequestWorker, type AllowedJobData } from '@linebacker/queues';
import { failUnsent, sendToInterface } from '../../apps/send-to-interface/src/send-to-interface.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { freePort } from '../support/free-port.js';
import { poolBehindProxy } from '../support/database-proxy.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let requests: MessageQueue;

const job = (backupRequestId: string): AllowedJobData => ({ backupRequestId, traceId: 'ignored-the-row-has-its-own' });
/** A send window that never holds back (the flow-control test below uses a real one). */
const open: Pick<SendWindow, 'acquire'> = { acquire: async () => () => undefined };
/** What the worker would store in the BullMQ job; here kept in memory. Not a first run unless said. */
const memory = (firstRun = false) => {
  const remembered: AllowedJobData[] = [];
  return { remembered, job: { firstRun, remember: async (data: AllowedJobData) => void remembered.push(data) } };
};

/** An outbound message as check-allowed builds it (the fields do not matter to these tests). */
const outboundMessageOf = (backupRequestId: string) => ({
  apiVersion: INTERFACE_API_VERSION,
  backupRequestId,
  backupJobId: 'send-job',
  dataDate: '2026-02-28',
  preparedDataPathName: '/data/prepared',
  storagePathName: 'vault/x',
  backupProviderCode: 'Local' as const,
  requestedAt: new Date().toISOString(),
  traceId: 'trace',
});

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  azurite = await startAzurite();
  requests = createAzureMessageQueue(azurite.connectionString, `requests-${randomBytes(4).toString('hex')}`);
  await requests.ensureExists();
  await insertJob(pool, { backupJobId: 'send-job' });
});

afterAll(async () => {
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

describe('send-to-interface (SPEC §4)', () => {
  it('sends an Allowed request with every outbound field, then records Sent', async () => {
    const id = await insertRequest(pool, {
      backupJobId: 'send-job',
      status: 'Allowed',
      storagePathName: 'vault/x',
      backupProviderCode: 'Local',
      dataDate: '2026-02-28',
    });
    const { remembered, job: stepJob } = memory();
    expect(await sendToInterface(job(id), { db: pool, requests, window: open }, log, stepJob)).toBe('done');
    expect(remembered).toEqual([]); // nothing to remember: Sent is recorded

    const [message] = await requests.receive(32, 5);
    expect(message).toBeDefined();
    const { rows } = await pool.query('SELECT trace_id, received_at FROM backup_requests WHERE backup_request_id = $1', [id]);
    expect(JSON.parse(message!.text)).toEqual({
      apiVersion: INTERFACE_API_VERSION,
      backupRequestId: id,
      backupJobId: 'send-job',
      dataDate: '2026-02-28',
      preparedDataPathName: '/data/prepared',
      storagePathName: 'vault/x',
      backupProviderCode: 'Local',
      requestedAt: (rows[0].received_at as Date).toISOString(),
      traceId: rows[0].trace_id,
    });
    await requests.delete(message!);

    const after = await pool.query('SELECT status, sent_at IS NOT NULL AS sent FROM backup_requests WHERE backup_request_id = $1', [id]);
    expect(after.rows[0]).toEqual({ status: 'Sent', sent: true });
    expect((await statusOf(pool, id)).history).toEqual(['Received', 'Allowed', 'Sent']);
  });

  it('on a first run sends the message the job carries (check-allowed built it), without reading the request', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed', storagePathName: 'vault/row' });
    const message = { ...outboundMessageOf(id), storagePathName: 'vault/from-the-job' };
    expect(await sendToInterface({ ...job(id), message }, { db: pool, requests, window: open }, log, memory(true).job)).toBe('done');
    const [sent] = await requests.receive(32, 5);
    expect(JSON.parse(sent!.text)).toEqual(message);
    await requests.delete(sent!);
    expect((await statusOf(pool, id)).status).toBe('Sent');
  });

  it('on any other run reads the request first: one already past Allowed gets no second message', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Sent' });
    const data = { ...job(id), message: outboundMessageOf(id) };
    expect(await sendToInterface(data, { db: pool, requests, window: open }, log, memory(false).job)).toBe('no-op');
    expect(await requests.receive(32, 1)).toEqual([]);
  });

  it('does nothing for a request that is not Allowed (a repeated job sends no second message)', async () => {
    for (const status of ['Received', 'NotAllowed', 'Sent', 'Succeeded', 'Failed'] as const) {
      const id = await insertRequest(pool, { backupJobId: 'send-job', status });
      expect(await sendToInterface(job(id), { db: pool, requests, window: open }, log, memory().job)).toBe('no-op');
    }
    expect(await requests.receive(32, 1)).toEqual([]);
  });

  it('when recording Sent fails after the send (Postgres gone), the job remembers the send, and its retry records Sent without sending again', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    // a first run sends the message the job carries without reading: the outage hits the Sent UPDATE
    const { pool: viaProxy, proxy, close } = await poolBehindProxy(db.databaseUrl);
    await proxy.cut();
    const { remembered, job: stepJob } = memory(true);
    const data = { ...job(id), message: outboundMessageOf(id) };
    const failure = await sendToInterface(data, { db: viaProxy, requests, window: open }, log, stepJob).catch((err: unknown) => err);
    expect(failure).toMatchObject({ dependency: 'postgres' });
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(remembered).toEqual([{ ...data, messageSent: true }]);
    expect((await statusOf(pool, id)).status).toBe('Allowed');
    await close();

    expect(await sendToInterface(remembered[0]!, { db: pool, requests, window: open }, log, memory().job)).toBe('done');
    expect((await statusOf(pool, id)).status).toBe('Sent');
    const messages = await requests.receive(32, 5);
    expect(messages.map((m) => (JSON.parse(m.text) as { backupRequestId: string }).backupRequestId)).toEqual([id]);
    await Promise.all(messages.map((m) => requests.delete(m)));
  });

  it('holds sends back while the interface queues hold maxDepth messages, and lets them go as the interface takes some', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' })));
    let heldBack = 0;
    const errors: unknown[] = [];
    const window = createSendWindow({
      readDepth: () => requests.approximateCount(),
      maxDepth: 3,
      sampleMs: 20,
      onError: (err) => errors.push(err),
      onHeldBack: () => heldBack++,
    });
    const sends = Promise.all(ids.map((id) => sendToInterface(job(id), { db: pool, requests, window }, log, memory().job)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await requests.approximateCount()).toBe(3);
    expect(window.state()).toEqual({ estimatedDepth: 3, waiting: 2 });
    const statuses = await Promise.all(ids.map(async (id) => (await statusOf(pool, id)).status));
    expect(statuses.filter((status) => status === 'Sent')).toHaveLength(3);

    // the interface takes two: the two held back go out
    const taken = await requests.receive(2, 30);
    await Promise.all(taken.map((m) => requests.delete(m)));
    expect(await sends).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(heldBack).toBe(2);
    expect(await requests.approximateCount()).toBe(3);
    window.stop();
    expect(errors).toEqual([]);
    await Promise.all((await requests.receive(32, 5)).map((m) => requests.delete(m)));
  });

  it('records Sent without sending again when the job remembers the message went out', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    expect(await sendToInterface({ ...job(id), messageSent: true }, { db: pool, requests, window: open }, log, memory().job)).toBe('done');
    expect((await statusOf(pool, id)).status).toBe('Sent');
    expect(await requests.receive(32, 1)).toEqual([]);
  });

  it('fails transiently, leaving the request Allowed, when the interface queue is unreachable', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    const nowhere = createAzureMessageQueue(
      azurite.connectionString.replace(`:${azurite.port}/`, `:${await freePort()}/`),
      'requests',
    );
    const failure = await sendToInterface(job(id), { db: pool, requests: nowhere, window: open }, log, memory().job).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'interface-queue' });
    expect((await statusOf(pool, id)).status).toBe('Allowed');
  });

  it('fails the request at once, with the answer as the reason, when the interface refuses the send (a 4xx)', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    const missing = createAzureMessageQueue(azurite.connectionString, `missing-${randomBytes(4).toString('hex')}`);
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const prefix = testQueuePrefix();
    const allowed = new Queue<AllowedJobData>(QUEUES.allowed, { connection, prefix });
    const worker = createRequestWorker<AllowedJobData>({
      queue: QUEUES.allowed,
      connection,
      prefix,
      concurrency: 1,
      retry: { startMs: 50, maxMs: 200, maxAttempts: 3, maxAgeMs: 60_000 },
      logger: log,
      retention: loadConfig({}).jobRetention,
      handle: (data, jobLog, stepJob) => sendToInterface(data, { db: pool, requests: missing, window: open }, jobLog, stepJob),
      onGiveUp: (data, reason) => failUnsent(pool, data, reason),
    });
    try {
      await allowed.add(QUEUES.allowed, job(id), { jobId: id });
      await expect.poll(async () => allowed.getJobState(id), { timeout: 10_000 }).toBe('failed');
      const request = await statusOf(pool, id);
      expect(request.status).toBe('Failed');
      expect(request.reason).toMatch(/404 QueueNotFound/);
      expect((await allowed.getJob(id))?.data.attempt).toBeUndefined(); // no retry before giving up
    } finally {
      await worker.close();
      await allowed.close();
      connection.disconnect();
    }
  });
});
