import { NOT_ALLOWED_REASONS, statusesLeadingTo, type BackupRequest } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { preparedStatement } from '../prepared-statement.js';
import { REQUEST_COLUMNS } from './columns.js';

export interface CheckedRequest {
  /** The request after the check, or as it was when it had already been checked. */
  request: BackupRequest;
  /** true when this call moved it from Received to Allowed or NotAllowed. */
  changed: boolean;
}

/**
 * check-allowed's step in one statement (one round trip, one transaction): a Received request
 * becomes Allowed, with its job's provider and storage path, when its backup job exists and is
 * active, else NotAllowed with the reason — the rule of libs/domain `allowDecision` (SPEC §3),
 * written here as SQL so that the read of the job and the conditional UPDATE need no second round
 * trip (the integration test checks the two agree; the history row is the database's, migration
 * status-history-trigger). A request not Received is returned as it is (`changed: false`);
 * undefined when there is no such request.
 */
export async function checkRequest(db: Queryable, backupRequestId: string): Promise<CheckedRequest | undefined> {
  const { rows } = await db.query<BackupRequest & { changed: boolean }>({
    ...preparedStatement(`WITH found AS (
       SELECT r.backup_request_id, j.backup_job_id IS NOT NULL AS job_exists, coalesce(j.is_active, false) AS allowed,
         j.backup_provider_code, j.storage_path_name
       FROM backup_requests r LEFT JOIN backup_jobs j ON j.backup_job_id = r.backup_job_id
       WHERE r.backup_request_id = $1
     ), updated AS (
       UPDATE backup_requests r SET
         status = CASE WHEN f.allowed THEN 'Allowed' ELSE 'NotAllowed' END,
         status_reason = CASE WHEN f.allowed THEN NULL WHEN f.job_exists THEN $3 ELSE $2 END,
         backup_provider_code = CASE WHEN f.allowed THEN f.backup_provider_code END,
         storage_path_name = CASE WHEN f.allowed THEN f.storage_path_name END,
         checked_at = now()
       FROM found f
       WHERE r.backup_request_id = f.backup_request_id AND r.status = ANY ($4::text[])
       RETURNING r.*
     )
     SELECT ${REQUEST_COLUMNS}, true AS changed FROM updated
     UNION ALL
     SELECT ${REQUEST_COLUMNS}, false FROM backup_requests
     WHERE backup_request_id = $1 AND NOT EXISTS (SELECT 1 FROM updated)`),
    values: [backupRequestId, NOT_ALLOWED_REASONS.unknownJob, NOT_ALLOWED_REASONS.inactiveJob, statusesLeadingTo('Allowed')],
  });
  const [row] = rows;
  if (!row) return undefined;
  const { changed, ...request } = row;
  return { request, changed };
}
