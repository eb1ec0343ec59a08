import type { RequestStatus, StatusReply } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import {
  recordTransition,
  type RecordedTransition,
  type TransitionFollowUp,
  type TransitionGate,
} from '../backup-requests/transition.js';

/**
 * The Backup record (SPEC §4), from the request, its job, and the reply; unique per request. As a
 * transition gate: the request moves to Succeeded only if this statement inserted its Backup.
 */
const backupInsertedGate = (reply: StatusReply): TransitionGate => ({
  // the row lock re-reads the request at its latest version: the Backup is inserted only if the
  // request is still in the status the decision was taken on, and nobody can move it before the
  // UPDATE of this same statement; and only for the storage path the request was sent with ($7,
  // the reply's: libs/domain replyAction rejects any other)
  ctes: (requires) => `locked AS (
     SELECT backup_request_id, backup_job_id, data_date, backup_provider_code FROM backup_requests
     WHERE backup_request_id = ANY ($1::uuid[]) AND status = ANY ($3::text[]) AND storage_path_name = $7 ${requires}
     FOR UPDATE
   ), gate AS (
     INSERT INTO backups (backup_id, backup_request_id, backup_job_id, data_date, backup_provider_code,
       storage_path_name, backup_byte_count, copy_start_timestamp, copy_end_timestamp,
       verify_start_timestamp, verify_end_timestamp, verified_hash, days_to_keep, hold_flag, due_to_delete_date)
     SELECT gen_random_uuid(), r.backup_request_id, r.backup_job_id, r.data_date,
       coalesce(r.backup_provider_code, j.backup_provider_code), $7, $8, $9, $10, $11, $12, $13,
       j.days_to_keep, j.hold_flag, r.data_date + j.days_to_keep
     FROM locked r JOIN backup_jobs j ON j.backup_job_id = r.backup_job_id
     ON CONFLICT (backup_request_id) DO NOTHING
     RETURNING backup_request_id
   )`,
  params: [
    reply.storagePathName,
    reply.backupByteCount,
    reply.copyStartTimestamp,
    reply.copyEndTimestamp,
    reply.verifyStartTimestamp ?? null,
    reply.verifyEndTimestamp ?? null,
    reply.verifiedHash ?? null,
  ],
});

/**
 * A success reply's Backup and the request's move to Succeeded, in one statement (so together or
 * not at all), conditionally on the request still being in one of `from`. Undefined when it was not
 * (or its Backup exists already).
 */
export function recordBackupAndSucceed(
  db: Queryable,
  reply: StatusReply,
  from: RequestStatus[],
  followUp?: TransitionFollowUp,
): Promise<RecordedTransition | undefined> {
  return recordTransition(db, { backupRequestId: reply.backupRequestId, to: 'Succeeded', from }, backupInsertedGate(reply), followUp);
}
