import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERFACE_API_VERSION } from '@linebacker/domain';
import { createAzureMessageQueue, isInterfaceUnavailable, type MessageQueue } from '@linebacker/interface-queue';
import type { AllowedJobData } from '@linebacker/queues';
import { sendToInterface } from '../../apps/send-to-interface/src/send-to-interface.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { freePort } from '../support/free-port.js';
import { insertJob, insertRequest, statusOf } from '../support/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let requests: MessageQueue;

const job = (backupRequestId: string): AllowedJobData => ({ backupRequestId, traceId: 'ignored-the-row-has-its-own' });
/** What the worker would store in the BullMQ job; here kept in memory. */
const memory = () => {
  const remembered: AllowedJobData[] = [];
  return { remembered, job: { remember: async (data: AllowedJobData) => void remembered.push(data) } };
};

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
    expect(await sendToInterface(job(id), { db: pool, requests }, log, stepJob)).toBe('done');
    expect(remembered).toEqual([{ ...job(id), messageSent: true }]);

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
    expect((await statusOf(pool, id)).history).toEqual(['Received', 'Sent']);
  });

  it('does nothing for a request that is not Allowed (a repeated job sends no second message)', async () => {
    for (const status of ['Received', 'NotAllowed', 'Sent', 'Succeeded', 'Failed'] as const) {
      const id = await insertRequest(pool, { backupJobId: 'send-job', status });
      expect(await sendToInterface(job(id), { db: pool, requests }, log, memory().job)).toBe('no-op');
    }
    expect(await requests.receive(32, 1)).toEqual([]);
  });

  it('records Sent without sending again when the job remembers the message went out', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    expect(await sendToInterface({ ...job(id), messageSent: true }, { db: pool, requests }, log, memory().job)).toBe('done');
    expect((await statusOf(pool, id)).status).toBe('Sent');
    expect(await requests.receive(32, 1)).toEqual([]);
  });

  it('fails transiently, leaving the request Allowed, when the interface queue is unreachable', async () => {
    const id = await insertRequest(pool, { backupJobId: 'send-job', status: 'Allowed' });
    const nowhere = createAzureMessageQueue(
      azurite.connectionString.replace(`:${azurite.port}/`, `:${await freePort()}/`),
      'requests',
    );
    const failure = await sendToInterface(job(id), { db: pool, requests: nowhere }, log, memory().job).catch((err: unknown) => err);
    expect(isInterfaceUnavailable(failure)).toBe(true);
    expect((await statusOf(pool, id)).status).toBe('Allowed');
  });
});
