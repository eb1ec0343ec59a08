import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { BackupJob, RequestStatus } from '@linebacker/domain';

/** Inserts a backup job row as the admin API would store it. */
export async function insertJob(db: pg.Pool, job: Partial<BackupJob> & { backupJobId: string }): Promise<BackupJob> {
  const full: BackupJob = {
    storagePathName: `vault/${job.backupJobId}`,
    backupProviderCode: 'CloudA',
    daysToKeep: 30,
    isActive: true,
    holdFlag: false,
    ...job,
  };
  await db.query(
    `INSERT INTO backup_jobs (backup_job_id, storage_path_name, backup_provider_code, days_to_keep, is_active, hold_flag)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [full.backupJobId, full.storagePathName, full.backupProviderCode, full.daysToKeep, full.isActive, full.holdFlag],
  );
  return full;
}

/** The statuses a request goes through to reach each status (SPEC §2.2), in order. */
export const PATH_TO: Record<RequestStatus, RequestStatus[]> = {
  Received: ['Received'],
  Allowed: ['Received', 'Allowed'],
  NotAllowed: ['Received', 'NotAllowed'],
  Sent: ['Received', 'Allowed', 'Sent'],
  Succeeded: ['Received', 'Allowed', 'Sent', 'Succeeded'],
  Failed: ['Received', 'Allowed', 'Sent', 'Failed'],
};

/**
 * Moves a stored request through `statuses` one UPDATE at a time, as the steps would, so that the
 * database writes its history rows; `reason` goes with the last one.
 */
export async function walkStatuses(db: pg.Pool, id: string, statuses: RequestStatus[], reason: string | null = null): Promise<void> {
  for (const [i, status] of statuses.entries()) {
    await db.query('UPDATE backup_requests SET status = $2, status_reason = $3 WHERE backup_request_id = $1', [
      id,
      status,
      i === statuses.length - 1 ? reason : null,
    ]);
  }
}

/** Inserts a request that went through the steps to the given status, with its history; returns its id. */
export async function insertRequest(
  db: pg.Pool,
  fields: { backupJobId: string; status?: RequestStatus; dataDate?: string; storagePathName?: string; backupProviderCode?: string },
): Promise<string> {
  const id = randomUUID();
  const status = fields.status ?? 'Received';
  const checked = status !== 'Received';
  await db.query(
    `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location,
       status, trace_id, backup_provider_code, storage_path_name)
     VALUES ($1, 'test-client', $2, $3, '/data/prepared', 'Received', $4, $5, $6)`,
    [
      id,
      fields.backupJobId,
      fields.dataDate ?? '2026-01-15',
      `trace-${id.slice(0, 8)}`,
      checked ? (fields.backupProviderCode ?? 'CloudA') : null,
      checked ? (fields.storagePathName ?? `vault/${fields.backupJobId}`) : null,
    ],
  );
  await walkStatuses(db, id, PATH_TO[status].slice(1));
  return id;
}

export async function statusOf(db: pg.Pool, id: string): Promise<{ status: string; reason: string | null; history: string[] }> {
  const { rows } = await db.query<{ status: string; reason: string | null; history: string[] }>(
    `SELECT status, status_reason AS reason,
       ARRAY(SELECT h.status FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id ORDER BY h.id) AS history
     FROM backup_requests r WHERE backup_request_id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`no request ${id}`);
  return rows[0];
}
