import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestStatus, StatusReply } from '@linebacker/domain';
import { storeReplies } from '@linebacker/db';
import { statusReceivedJobData, type StatusReceivedJobData } from '@linebacker/queues';
import { failUnanswered } from '../../apps/http-receiver/src/reconciliation/reconcile.js';
import { receiveStatus, recordGiveUp } from '../../apps/receive-status/src/receive-status.js';
import { PATH_TO, walkStatuses } from '../support/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/*
 * receive-status (SPEC §2.2, §4 "Reply handling"): every row of the reply table, through the app's
 * handler against a real Postgres, asserting the rows a user sees: the request (status, reason,
 * repliedAt), its history, the Backup record, the rejected replies and the reply inbox. Each reply
 * is stored in the inbox first, as the external-queue-receiver does, and applied from there.
 */

const log = pino({ level: 'silent' });
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  // room for the concurrent replies below to really run at the same time
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 10 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

interface JobFields {
  daysToKeep?: number;
  holdFlag?: boolean;
  backupProviderCode?: 'Local' | 'CloudA' | 'CloudB';
}

interface Job {
  backupJobId: string;
  storagePathName: string;
  backupProviderCode: string;
}

/** A backup job of its own (tests never share one). */
/** The storage path of every test job, and of every reply unless a test says otherwise. */
const STORAGE_PATH = 'vault/somewhere';

async function insertJob(fields: JobFields = {}): Promise<Job> {
  const job: Job = {
    backupJobId: `job-${randomUUID().slice(0, 8)}`,
    storagePathName: STORAGE_PATH, // what reply() answers for
    backupProviderCode: fields.backupProviderCode ?? 'CloudA',
  };
  await pool.query(
    `INSERT INTO backup_jobs (backup_job_id, storage_path_name, backup_provider_code, days_to_keep, is_active, hold_flag)
     VALUES ($1, $2, $3, $4, true, $5)`,
    [job.backupJobId, job.storagePathName, job.backupProviderCode, fields.daysToKeep ?? 30, fields.holdFlag ?? false],
  );
  return job;
}

/** The history a request in each status has when the pipeline put it there. */
/**
 * A request in `status`, with the columns and history rows the earlier steps would have written
 * (provider and storage path once Allowed, checked_at / sent_at by their steps).
 */
async function insertRequest(
  job: Job,
  status: RequestStatus,
  dataDate = '2026-01-15',
): Promise<string> {
  const id = randomUUID();
  const checked = status !== 'Received';
  const allowed = checked && status !== 'NotAllowed';
  await pool.query(
    `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location,
       status, trace_id, checked_at, sent_at, backup_provider_code, storage_path_name)
     VALUES ($1, 'test-client', $2, $3, '/data/prepared', 'Received', $4,
       CASE WHEN $5 THEN now() END, CASE WHEN $6 IN ('Sent', 'Failed', 'Succeeded') THEN now() END, $7, $8)`,
    [
      id,
      job.backupJobId,
      dataDate,
      `trace-${id.slice(0, 8)}`,
      checked,
      status,
      allowed ? job.backupProviderCode : null,
      allowed ? job.storagePathName : null,
    ],
  );
  const reason = status === 'NotAllowed' ? 'backup job is inactive' : status === 'Failed' ? 'an earlier failure' : null;
  await walkStatuses(pool, id, PATH_TO[status].slice(1), reason);
  return id;
}

function reply(backupRequestId: string, overrides: Partial<StatusReply> = {}): StatusReply {
  return {
    apiVersion: '2022-05-22',
    backupRequestId,
    storagePathName: STORAGE_PATH,
    resultTypeCode: 'Succeeded',
    backupByteCount: 1234,
    copyStartTimestamp: '2026-01-15T01:00:00.000Z',
    copyEndTimestamp: '2026-01-15T01:05:00.000Z',
    ...overrides,
  };
}

const failedReply = (backupRequestId: string, messageText?: string): StatusReply =>
  reply(backupRequestId, { resultTypeCode: 'Failed', backupByteCount: 0, ...(messageText === undefined ? {} : { messageText }) });

/** What each inbox row of these tests holds. */
const inboxReplies = new Map<string, unknown>();

/**
 * Whether the wake-up jobs of the tests that run now carry a copy of their row's reply (as the
 * external-queue-receiver adds them for small replies) or not (as reconciliation re-adds them):
 * every test below runs both ways.
 */
let wakeUpsCarryTheReply = false;

/** The wake-up job of an inbox row (what the external-queue-receiver or reconciliation adds). */
const jobFor = (inboxId: string, backupRequestId: string = randomUUID()): StatusReceivedJobData =>
  statusReceivedJobData({
    inboxId,
    backupRequestId,
    traceId: undefined,
    receivedAt: new Date(),
    ...(wakeUpsCarryTheReply ? { reply: inboxReplies.get(inboxId) } : {}),
  });

/** Stores the reply in the inbox as one interface message; returns its row id. */
async function store(statusReply: unknown): Promise<string> {
  const [stored] = await storeReplies(pool, 'backup-statuses', [{ messageId: randomUUID(), reply: statusReply as StatusReply }]);
  inboxReplies.set(stored!.inboxId, statusReply);
  return stored!.inboxId;
}

const apply = async (statusReply: StatusReply) => receiveStatus(jobFor(await store(statusReply), statusReply.backupRequestId), { pool }, log);

async function inboxRow(inboxId: string): Promise<{ applied: boolean; outcome: string | null }> {
  const { rows } = await pool.query<{ applied: boolean; outcome: string | null }>(
    `SELECT applied_at IS NOT NULL AS applied, outcome FROM reply_inbox WHERE inbox_id = $1`,
    [inboxId],
  );
  return rows[0]!;
}

interface RequestRow {
  status: string;
  statusReason: string | null;
  repliedAt: Date | null;
  history: { status: string; reason: string | null }[];
}

async function requestRow(id: string): Promise<RequestRow> {
  const { rows } = await pool.query<RequestRow>(
    `SELECT status, status_reason AS "statusReason", replied_at AS "repliedAt",
       ARRAY(SELECT json_build_object('status', h.status, 'reason', h.reason)
             FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id ORDER BY h.id) AS history
     FROM backup_requests r WHERE backup_request_id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`no request ${id}`);
  return rows[0];
}

const historyOf = async (id: string): Promise<string[]> => (await requestRow(id)).history.map((h) => h.status);

interface BackupRow {
  backupId: string;
  backupRequestId: string;
  backupJobId: string;
  dataDate: string;
  backupProviderCode: string;
  storagePathName: string;
  backupByteCount: string;
  copyStartTimestamp: Date | null;
  copyEndTimestamp: Date | null;
  verifyStartTimestamp: Date | null;
  verifyEndTimestamp: Date | null;
  verifiedHash: string | null;
  daysToKeep: number;
  holdFlag: boolean;
  dueToDeleteDate: string;
}

/** The Backup records of a request (dates as `YYYY-MM-DD`, as the API shows them). */
async function backupsOf(id: string): Promise<BackupRow[]> {
  const { rows } = await pool.query<BackupRow>(
    `SELECT backup_id AS "backupId", backup_request_id AS "backupRequestId", backup_job_id AS "backupJobId",
       data_date::text AS "dataDate", backup_provider_code AS "backupProviderCode", storage_path_name AS "storagePathName",
       backup_byte_count::text AS "backupByteCount", copy_start_timestamp AS "copyStartTimestamp",
       copy_end_timestamp AS "copyEndTimestamp", verify_start_timestamp AS "verifyStartTimestamp",
       verify_end_timestamp AS "verifyEndTimestamp", verified_hash AS "verifiedHash", days_to_keep AS "daysToKeep",
       hold_flag AS "holdFlag", due_to_delete_date::text AS "dueToDeleteDate"
     FROM backups WHERE backup_request_id = $1`,
    [id],
  );
  return rows;
}

async function rejectedRepliesOf(id: string): Promise<{ resultTypeCode: string; reason: string; reply: unknown }[]> {
  const { rows } = await pool.query<{ resultTypeCode: string; reason: string; reply: unknown }>(
    `SELECT result_type_code AS "resultTypeCode", reason, reply FROM rejected_replies WHERE backup_request_id = $1 ORDER BY id`,
    [id],
  );
  return rows;
}

describe.each([
  ['a wake-up carrying a copy of the reply', true],
  ['a bare wake-up (as reconciliation re-adds it)', false],
])('with %s', (_kind, carry) => {
  beforeAll(() => {
    wakeUpsCarryTheReply = carry;
  });

  describe('a Succeeded reply (SPEC §4)', () => {
    it('for a Sent request: inserts the Backup with every field and the request becomes Succeeded', async () => {
      const job = await insertJob({ daysToKeep: 45, holdFlag: true, backupProviderCode: 'CloudB' });
      const id = await insertRequest(job, 'Sent', '2026-01-15');
      const before = new Date();
      const succeeded = reply(id, {
        storagePathName: job.storagePathName,
        backupByteCount: 5_000_000_000, // beyond 32 bits
        copyStartTimestamp: '2026-01-15T01:00:00.123Z',
        copyEndTimestamp: '2026-01-15T03:30:00+02:00', // an offset: stored as the same instant
        verifyStartTimestamp: '2026-01-15T01:31:00Z',
        verifyEndTimestamp: '2026-01-15T01:32:00.5Z',
        verifiedHash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        messageText: 'copied and verified',
      });

      expect(await apply(succeeded)).toBe('done');

      const request = await requestRow(id);
      expect(request).toMatchObject({ status: 'Succeeded', statusReason: null });
      expect(request.repliedAt?.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
      expect(request.history).toEqual([
        { status: 'Received', reason: null },
        { status: 'Allowed', reason: null },
        { status: 'Sent', reason: null },
        { status: 'Succeeded', reason: null },
      ]);
      expect(await backupsOf(id)).toEqual([
        {
          backupId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          backupRequestId: id,
          backupJobId: job.backupJobId,
          dataDate: '2026-01-15',
          backupProviderCode: 'CloudB',
          storagePathName: job.storagePathName,
          backupByteCount: '5000000000',
          copyStartTimestamp: new Date('2026-01-15T01:00:00.123Z'),
          copyEndTimestamp: new Date('2026-01-15T01:30:00Z'),
          verifyStartTimestamp: new Date('2026-01-15T01:31:00Z'),
          verifyEndTimestamp: new Date('2026-01-15T01:32:00.500Z'),
          verifiedHash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
          daysToKeep: 45,
          holdFlag: true,
          dueToDeleteDate: '2026-03-01',
        },
      ]);
      expect(await rejectedRepliesOf(id)).toEqual([]);
    });

    it('without the optional verify fields: the Backup has them empty', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(reply(id, { verifyStartTimestamp: null, verifiedHash: null }));
      expect(await backupsOf(id)).toEqual([
        expect.objectContaining({ verifyStartTimestamp: null, verifyEndTimestamp: null, verifiedHash: null, holdFlag: false }),
      ]);
    });

    it.each([
      ['a month end', '2026-01-31', 1, '2026-02-01'],
      ['a year end', '2025-12-31', 1, '2026-01-01'],
      ['a year end, from further back', '2025-11-15', 90, '2026-02-13'],
      ['into a leap day', '2024-02-28', 1, '2024-02-29'],
      ['across a leap February', '2024-01-31', 30, '2024-03-01'],
      ['across a common February', '2023-01-31', 30, '2023-03-02'],
      ['from a leap day, one year', '2024-02-29', 365, '2025-02-28'],
      ['the longest retention', '2026-01-15', 36500, '2125-12-22'],
    ])('dueToDeleteDate = dataDate + daysToKeep across %s (%s + %i days = %s)', async (_case, dataDate, daysToKeep, due) => {
      const job = await insertJob({ daysToKeep });
      const id = await insertRequest(job, 'Sent', dataDate);
      await apply(reply(id));
      expect(await backupsOf(id)).toEqual([expect.objectContaining({ dataDate, daysToKeep, dueToDeleteDate: due })]);
      // the same figure as plain UTC calendar arithmetic
      const utc = new Date(`${dataDate}T00:00:00Z`);
      utc.setUTCDate(utc.getUTCDate() + daysToKeep);
      expect(utc.toISOString().slice(0, 10)).toBe(due);
    });

    it('for an Allowed request (the reply overtook our Sent bookkeeping): Succeeded with a Backup', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Allowed');
      expect(await apply(reply(id))).toBe('done');
      const request = await requestRow(id);
      expect(request.status).toBe('Succeeded');
      expect(request.repliedAt).toBeInstanceOf(Date);
      expect(await historyOf(id)).toEqual(['Received', 'Allowed', 'Succeeded']);
      expect(await backupsOf(id)).toHaveLength(1);
    });

    it('after a Failed reply: success wins, the Backup is inserted and the failure reason cleared', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(failedReply(id, 'disk full'));
      const failed = await requestRow(id);
      expect(failed).toMatchObject({ status: 'Failed', statusReason: 'disk full' });

      expect(await apply(reply(id))).toBe('done');

      const request = await requestRow(id);
      expect(request).toMatchObject({ status: 'Succeeded', statusReason: null });
      expect(request.repliedAt?.getTime()).toBeGreaterThanOrEqual(failed.repliedAt?.getTime() ?? Infinity);
      expect(request.history).toEqual([
        { status: 'Received', reason: null },
        { status: 'Allowed', reason: null },
        { status: 'Sent', reason: null },
        { status: 'Failed', reason: 'disk full' },
        { status: 'Succeeded', reason: null },
      ]);
      expect(await backupsOf(id)).toHaveLength(1);
    });

    it('for a request recorded Failed by us (no reply in time): success still wins', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Failed');
      await apply(reply(id));
      expect(await historyOf(id)).toEqual(['Received', 'Allowed', 'Sent', 'Failed', 'Succeeded']);
      expect((await requestRow(id)).statusReason).toBeNull();
      expect(await backupsOf(id)).toHaveLength(1);
    });

    it('received twice: exactly one Backup and one Succeeded history row', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      const succeeded = reply(id, { backupByteCount: 1 });
      expect(await apply(succeeded)).toBe('done');
      const first = await requestRow(id);
      const [backup] = await backupsOf(id);

      expect(await apply({ ...succeeded, backupByteCount: 2 })).toBe('no-op');

      expect(await requestRow(id)).toEqual(first);
      expect(await backupsOf(id)).toEqual([backup]);
    });
  });

  describe('a Failed reply (SPEC §4)', () => {
    it('for a Sent request: Failed with the interface message as the reason', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      expect(await apply(failedReply(id, 'target storage unavailable'))).toBe('done');
      const request = await requestRow(id);
      expect(request).toMatchObject({ status: 'Failed', statusReason: 'target storage unavailable' });
      expect(request.repliedAt).toBeInstanceOf(Date);
      expect(request.history).toEqual([
        { status: 'Received', reason: null },
        { status: 'Allowed', reason: null },
        { status: 'Sent', reason: null },
        { status: 'Failed', reason: 'target storage unavailable' },
      ]);
      expect(await backupsOf(id)).toEqual([]);
    });

    it.each([
      ['no messageText', undefined],
      ['a null messageText', null],
      ['an empty messageText', ''],
      ['a blank messageText', '  \n '],
    ])('with %s: Failed with a default reason', async (_case, messageText) => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(reply(id, { resultTypeCode: 'Failed', messageText }));
      const request = await requestRow(id);
      expect(request.status).toBe('Failed');
      expect(request.statusReason).toBe('the backup interface reported a failure');
      expect(request.history.at(-1)).toEqual({ status: 'Failed', reason: 'the backup interface reported a failure' });
    });

    it('with a message longer than 500 characters: Failed, the reason cut to 500', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(failedReply(id, 'x'.repeat(2000)));
      const request = await requestRow(id);
      expect(request.status).toBe('Failed');
      expect(request.statusReason).toHaveLength(500);
      expect(request.statusReason?.startsWith('xxx')).toBe(true);
    });

    it('for an Allowed request: Failed', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Allowed');
      expect(await apply(failedReply(id, 'quota exceeded'))).toBe('done');
      expect(await requestRow(id)).toMatchObject({ status: 'Failed', statusReason: 'quota exceeded', repliedAt: expect.any(Date) });
      expect(await historyOf(id)).toEqual(['Received', 'Allowed', 'Failed']);
    });

    it('received twice: one Failed history row', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(failedReply(id, 'disk full'));
      const first = await requestRow(id);
      expect(await apply(failedReply(id, 'disk full'))).toBe('no-op');
      expect(await requestRow(id)).toEqual(first);
    });

    it('after a Succeeded reply (a Backup exists): stays Succeeded, nothing changes', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(reply(id));
      const succeeded = await requestRow(id);
      const backups = await backupsOf(id);

      expect(await apply(failedReply(id, 'late failure report'))).toBe('no-op');

      expect(await requestRow(id)).toEqual(succeeded);
      expect(succeeded.history.map((h) => h.status)).toEqual(['Received', 'Allowed', 'Sent', 'Succeeded']);
      expect(await backupsOf(id)).toEqual(backups);
      expect(await rejectedRepliesOf(id)).toEqual([]);
    });

    it('for a Failed request that has a Backup: the request becomes Succeeded (success wins whatever the reply says)', async () => {
      const job = await insertJob({ daysToKeep: 7 });
      const id = await insertRequest(job, 'Failed');
      await pool.query(
        `INSERT INTO backups (backup_id, backup_request_id, backup_job_id, data_date, backup_provider_code, storage_path_name,
           backup_byte_count, days_to_keep, hold_flag, due_to_delete_date)
         VALUES (gen_random_uuid(), $1, $2, '2026-01-15', 'CloudA', $3, 10, 7, false, '2026-01-22')`,
        [id, job.backupJobId, job.storagePathName],
      );
      const backups = await backupsOf(id);

      expect(await apply(failedReply(id, 'another failure report'))).toBe('done');

      expect(await requestRow(id)).toMatchObject({ status: 'Succeeded', statusReason: null, repliedAt: expect.any(Date) });
      expect(await historyOf(id)).toEqual(['Received', 'Allowed', 'Sent', 'Failed', 'Succeeded']);
      expect(await backupsOf(id)).toEqual(backups);
    });
  });

  describe('a reply that cannot be applied (SPEC §4)', () => {
    it('for an unknown request: kept as a rejected reply', async () => {
      const id = randomUUID();
      const unknown = reply(id, { verifiedHash: 'abc' });
      expect(await apply(unknown)).toBe('done');
      expect(await rejectedRepliesOf(id)).toEqual([{ resultTypeCode: 'Succeeded', reason: 'unknown backup request', reply: unknown }]);
      const { rows } = await pool.query('SELECT 1 FROM backup_requests WHERE backup_request_id = $1', [id]);
      expect(rows).toEqual([]);
      expect(await backupsOf(id)).toEqual([]);
    });

    it.each([
      ['Received', 'Succeeded'],
      ['Received', 'Failed'],
      ['NotAllowed', 'Succeeded'],
      ['NotAllowed', 'Failed'],
    ] as const)('for a %s request (%s reply): not applied, one rejected reply with the reason, request unchanged', async (status, resultTypeCode) => {
      const job = await insertJob();
      const id = await insertRequest(job, status);
      const before = await requestRow(id);
      const rejected = reply(id, { resultTypeCode, messageText: 'from the interface' });

      await apply(rejected);

      expect(await requestRow(id)).toEqual(before);
      expect(before.history.map((h) => h.status)).toEqual(PATH_TO[status]);
      expect(await backupsOf(id)).toEqual([]);
      expect(await rejectedRepliesOf(id)).toEqual([{ resultTypeCode, reason: `reply for a request that is ${status}`, reply: rejected }]);
    });
  });

  describe("a reply for another storage path than the request's (decision: rejected)", () => {
    it.each([
      ['Sent', false, 'Succeeded'],
      ['Sent', false, 'Failed'],
      ['Allowed', false, 'Succeeded'],
      ['Failed', false, 'Succeeded'],
      ['Failed', true, 'Failed'],
      ['Succeeded', true, 'Succeeded'],
    ] as const)('for a %s request (Backup: %s), a %s reply: rejected with the reason, the request and its Backups unchanged', async (status, withBackup, resultTypeCode) => {
      const job = await insertJob();
      const id = await insertRequest(job, status);
      if (withBackup) {
        await pool.query(
          `INSERT INTO backups (backup_id, backup_request_id, backup_job_id, data_date, backup_provider_code, storage_path_name,
             backup_byte_count, days_to_keep, hold_flag, due_to_delete_date)
           VALUES (gen_random_uuid(), $1, $2, '2026-01-15', 'CloudA', $3, 10, 7, false, '2026-01-22')`,
          [id, job.backupJobId, job.storagePathName],
        );
      }
      const [before, backups] = [await requestRow(id), await backupsOf(id)];
      const elsewhere = reply(id, { resultTypeCode, storagePathName: 'vault/elsewhere', messageText: 'from the interface' });
      const row = await store(elsewhere);

      expect(await receiveStatus(jobFor(row, id), { pool }, log)).toBe('done');

      const reason = `the reply's storagePathName "vault/elsewhere" differs from the request's "${STORAGE_PATH}"`;
      expect(await requestRow(id)).toEqual(before);
      expect(await backupsOf(id)).toEqual(backups);
      expect(await rejectedRepliesOf(id)).toEqual([{ resultTypeCode, reason, reply: elsewhere }]);
      expect(await inboxRow(row)).toEqual({ applied: true, outcome: `rejected: ${reason}` });
    });

    it('the same reply with the right path is then applied as usual', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      await apply(reply(id, { storagePathName: 'vault/elsewhere' }));
      expect(await apply(reply(id))).toBe('done');
      expect(await requestRow(id)).toMatchObject({ status: 'Succeeded' });
      expect((await backupsOf(id)).map((backup) => backup.storagePathName)).toEqual([STORAGE_PATH]);
    });
  });

  describe('the reply inbox (SPEC §4: replies are applied only from the inbox)', () => {
    it('the row is marked applied with what was done, in the statement that applied it', async () => {
      const job = await insertJob();
      const succeededId = await insertRequest(job, 'Sent');
      const succeededRow = await store(reply(succeededId));
      expect(await inboxRow(succeededRow)).toEqual({ applied: false, outcome: null });
      expect(await receiveStatus(jobFor(succeededRow), { pool }, log)).toBe('done');
      expect(await inboxRow(succeededRow)).toEqual({ applied: true, outcome: 'record-backup' });

      const failedId = await insertRequest(job, 'Sent');
      const failedRow = await store(failedReply(failedId, 'disk full'));
      await receiveStatus(jobFor(failedRow), { pool }, log);
      expect(await inboxRow(failedRow)).toEqual({ applied: true, outcome: 'fail' });

      const unknownRow = await store(reply(randomUUID()));
      await receiveStatus(jobFor(unknownRow), { pool }, log);
      expect(await inboxRow(unknownRow)).toEqual({ applied: true, outcome: 'rejected: unknown backup request' });
    });

    it('a row applied already (its job run again, e.g. re-added after a Redis flush) changes nothing', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      const row = await store(failedReply(id, 'first'));
      expect(await receiveStatus(jobFor(row), { pool }, log)).toBe('done');
      const after = await requestRow(id);
      expect(await receiveStatus(jobFor(row), { pool }, log)).toBe('no-op');
      expect(await requestRow(id)).toEqual(after);
    });

    it('a job for an unknown inbox row does nothing, whatever reply it carries', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      const forged = { ...jobFor('987654321', id), reply: reply(id) } as StatusReceivedJobData;
      expect(await receiveStatus(forged, { pool }, log)).toBe('no-op');
      expect(await requestRow(id)).toMatchObject({ status: 'Sent' });
      expect(await backupsOf(id)).toEqual([]);
    });

    it.each([
      ['a reply that fails validation', (id: string) => ({ ...reply(id), backupByteCount: -5 }), /backupByteCount: must not be negative/],
      ['a hash over the limit', (id: string) => ({ ...reply(id), verifiedHash: 'f'.repeat(20_000) }), /verifiedHash/],
      ['an apiVersion over the limit', (id: string) => ({ ...reply(id), apiVersion: 'v'.repeat(100) }), /apiVersion/],
    ])('%s in the inbox (validated again before applying): rejected with the reason, the request unchanged', async (_kind, make, reason) => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      const row = await store(make(id));
      expect(await receiveStatus(jobFor(row), { pool }, log)).toBe('done');
      expect(await requestRow(id)).toMatchObject({ status: 'Sent' });
      expect(await backupsOf(id)).toEqual([]);
      expect((await inboxRow(row)).outcome).toMatch(reason);
      const [rejected] = await rejectedRepliesOf(id);
      expect(rejected?.reason).toMatch(reason);
    });

    it('a give-up is recorded on the row and in rejected replies', async () => {
      const job = await insertJob();
      const id = await insertRequest(job, 'Sent');
      const row = await store(reply(id));
      await recordGiveUp({ pool })(jobFor(row, id), 'status-received: boom (permanent)');
      expect(await inboxRow(row)).toEqual({ applied: true, outcome: 'rejected: gave up: status-received: boom (permanent)' });
      expect(await rejectedRepliesOf(id)).toEqual([
        { resultTypeCode: 'Succeeded', reason: 'gave up: status-received: boom (permanent)', reply: reply(id) },
      ]);
    });
  });

  describe('concurrent replies for one request', () => {
    it('a Succeeded and a Failed reply applied at the same time always end Succeeded with exactly one Backup', async () => {
      const job = await insertJob();
      for (let round = 0; round < 10; round += 1) {
        const id = await insertRequest(job, 'Sent');
        const succeed = () => apply(reply(id));
        const fail = () => apply(failedReply(id, 'racing failure'));
        // alternate which one starts first
        await Promise.all(round % 2 === 0 ? [succeed(), fail()] : [fail(), succeed()]);

        const request = await requestRow(id);
        expect(request).toMatchObject({ status: 'Succeeded', statusReason: null });
        const history = request.history.map((h) => h.status);
        // Failed may or may not have been recorded first; Succeeded is last, once
        expect([
          ['Received', 'Allowed', 'Sent', 'Succeeded'],
          ['Received', 'Allowed', 'Sent', 'Failed', 'Succeeded'],
        ]).toContainEqual(history);
        expect(await backupsOf(id)).toHaveLength(1);
      }
    });

    it('a Succeeded reply racing the reply timeout of reconciliation ends Succeeded with exactly one Backup', async () => {
      const job = await insertJob();
      for (let round = 0; round < 10; round += 1) {
        const id = await insertRequest(job, 'Sent');
        const timeout = () => failUnanswered(pool, 0, 1000);
        await Promise.all(round % 2 === 0 ? [apply(reply(id)), timeout()] : [timeout(), apply(reply(id))]);

        const request = await requestRow(id);
        expect(request).toMatchObject({ status: 'Succeeded', statusReason: null });
        expect([
          ['Received', 'Allowed', 'Sent', 'Succeeded'],
          ['Received', 'Allowed', 'Sent', 'Failed', 'Succeeded'],
        ]).toContainEqual(request.history.map((h) => h.status));
        expect(await backupsOf(id)).toHaveLength(1);
      }
    });

    it('Succeeded and Failed replies delivered many times at once: one Backup, Succeeded last and once', async () => {
      const job = await insertJob();
      for (let round = 0; round < 5; round += 1) {
        const id = await insertRequest(job, 'Sent');
        await Promise.all(Array.from({ length: 8 }, (_, i) => apply(i % 2 === round % 2 ? reply(id) : failedReply(id, 'racing failure'))));
        const history = await historyOf(id);
        expect(history.at(-1)).toBe('Succeeded');
        expect(history.filter((status) => status === 'Succeeded')).toHaveLength(1);
        expect(history.filter((status) => status === 'Failed').length).toBeLessThanOrEqual(1);
        expect(await backupsOf(id)).toHaveLength(1);
      }
    });

    it('the same Succeeded reply delivered several times at once gives one Backup and one Succeeded row', async () => {
      const job = await insertJob();
      for (let round = 0; round < 5; round += 1) {
        const id = await insertRequest(job, 'Sent');
        await Promise.all(Array.from({ length: 4 }, () => apply(reply(id))));
        expect(await historyOf(id)).toEqual(['Received', 'Allowed', 'Sent', 'Succeeded']);
        expect(await backupsOf(id)).toHaveLength(1);
      }
    });
  });
});

describe("a wake-up's copy of the reply is applied only if the inbox row holds exactly it", () => {
  it("an edited copy (Succeeded, where the row says Failed): the row's reply is applied, no Backup", async () => {
    const job = await insertJob();
    const id = await insertRequest(job, 'Sent');
    const row = await store(failedReply(id, 'disk full'));
    const edited = { ...jobFor(row, id), reply: reply(id) };
    expect(await receiveStatus(edited, { pool }, log)).toBe('done');
    expect(await requestRow(id)).toMatchObject({ status: 'Failed', statusReason: 'disk full' });
    expect(await backupsOf(id)).toEqual([]);
    expect(await inboxRow(row)).toEqual({ applied: true, outcome: 'fail' });
  });

  it("a copy aimed at another request: that request is untouched, the row's own is applied", async () => {
    const job = await insertJob();
    const id = await insertRequest(job, 'Sent');
    const other = await insertRequest(job, 'Sent');
    const row = await store(reply(id));
    expect(await receiveStatus({ ...jobFor(row, id), reply: reply(other) }, { pool }, log)).toBe('done');
    expect(await requestRow(other)).toMatchObject({ status: 'Sent' });
    expect(await backupsOf(other)).toEqual([]);
    expect(await requestRow(id)).toMatchObject({ status: 'Succeeded' });
    expect(await backupsOf(id)).toHaveLength(1);
  });

  /** The pool, counting the statements receive-status sends. */
  const counting = () => {
    const statements: string[] = [];
    const query = ((config: string | { text: string }, values?: unknown[]) => {
      statements.push(typeof config === 'string' ? config : config.text);
      return pool.query(config as string, values);
    }) as pg.Pool['query'];
    return { db: { query }, statements };
  };

  it.each([
    ['the copy as stored', (id: string) => reply(id)],
    ['the copy with its keys in another order (jsonb equality)', (id: string) => Object.fromEntries(Object.entries(reply(id)).reverse())],
  ])('%s: applied in one statement, without reading the row', async (_kind, copy) => {
    const job = await insertJob();
    const id = await insertRequest(job, 'Sent');
    const row = await store(reply(id));
    const { db: counted, statements } = counting();
    expect(await receiveStatus({ ...jobFor(row, id), reply: copy(id) }, { pool: counted }, log)).toBe('done');
    expect(statements).toHaveLength(1);
    expect(await inboxRow(row)).toEqual({ applied: true, outcome: 'record-backup' });
    expect(await backupsOf(id)).toHaveLength(1);
  });

  it('a copy of a row applied already: nothing changes (the row is read, and found applied)', async () => {
    const job = await insertJob();
    const id = await insertRequest(job, 'Sent');
    const row = await store(failedReply(id, 'first'));
    expect(await receiveStatus({ ...jobFor(row, id), reply: failedReply(id, 'first') }, { pool }, log)).toBe('done');
    const after = await requestRow(id);
    const { db: counted, statements } = counting();
    expect(await receiveStatus({ ...jobFor(row, id), reply: failedReply(id, 'first') }, { pool: counted }, log)).toBe('no-op');
    expect(statements).toHaveLength(2);
    expect(await requestRow(id)).toEqual(after);
  });
});
