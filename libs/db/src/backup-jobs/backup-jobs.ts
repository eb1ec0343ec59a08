import type { BackupJob } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

const JOB_COLUMNS = `
  backup_job_id AS "backupJobId", storage_path_name AS "storagePathName",
  backup_provider_code AS "backupProviderCode", days_to_keep AS "daysToKeep",
  is_active AS "isActive", hold_flag AS "holdFlag"`;

/** Creates or replaces a backup job; `created` tells which. */
export async function upsertBackupJob(db: Queryable, job: BackupJob): Promise<{ job: BackupJob; created: boolean }> {
  const { rows } = await db.query<BackupJob & { created: boolean }>(
    `INSERT INTO backup_jobs (backup_job_id, storage_path_name, backup_provider_code, days_to_keep, is_active, hold_flag)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (backup_job_id) DO UPDATE SET
       storage_path_name = EXCLUDED.storage_path_name, backup_provider_code = EXCLUDED.backup_provider_code,
       days_to_keep = EXCLUDED.days_to_keep, is_active = EXCLUDED.is_active, hold_flag = EXCLUDED.hold_flag,
       updated_at = now()
     RETURNING ${JOB_COLUMNS}, (xmax = 0) AS created`,
    [job.backupJobId, job.storagePathName, job.backupProviderCode, job.daysToKeep, job.isActive, job.holdFlag],
  );
  const [row] = rows;
  if (!row) throw new Error('upsert returned no row');
  const { created, ...stored } = row;
  return { job: stored, created };
}

export async function getBackupJob(db: Queryable, backupJobId: string): Promise<BackupJob | undefined> {
  const { rows } = await db.query<BackupJob>(`SELECT ${JOB_COLUMNS} FROM backup_jobs WHERE backup_job_id = $1`, [
    backupJobId,
  ]);
  return rows[0];
}

/** Jobs in id order, keyset-paginated on the id. */
export async function listBackupJobs(
  db: Queryable,
  page: { after?: string | undefined; limit: number },
): Promise<{ items: BackupJob[]; next: string | undefined }> {
  const { rows } = await db.query<BackupJob>(
    `SELECT ${JOB_COLUMNS} FROM backup_jobs WHERE ($1::text IS NULL OR backup_job_id > $1)
     ORDER BY backup_job_id LIMIT $2`,
    [page.after ?? null, page.limit + 1],
  );
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? items.at(-1)?.backupJobId : undefined };
}
