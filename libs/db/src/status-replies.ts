import { replyAction, type ReplyAction, type RequestStatus, type StatusReply } from '@linebacker/domain';
import type { Pool, PoolClient } from './pool.js';
import { recordTransition } from './request-transitions.js';
import { withTransaction } from './transaction.js';

interface LockedRequest {
  status: RequestStatus;
  traceId: string;
  hasBackup: boolean;
  jobExists: boolean;
}

const lockRequest = async (tx: PoolClient, backupRequestId: string): Promise<LockedRequest | undefined> =>
  (
    await tx.query<LockedRequest>(
      `SELECT r.status, r.trace_id AS "traceId",
         EXISTS (SELECT 1 FROM backups b WHERE b.backup_request_id = r.backup_request_id) AS "hasBackup",
         EXISTS (SELECT 1 FROM backup_jobs j WHERE j.backup_job_id = r.backup_job_id) AS "jobExists"
       FROM backup_requests r WHERE r.backup_request_id = $1 FOR UPDATE`,
      [backupRequestId],
    )
  ).rows[0];

/** The Backup record (SPEC §4), from the request, its job, and the reply; unique per request. */
const insertBackup = (tx: PoolClient, reply: StatusReply) =>
  tx.query(
    `INSERT INTO backups (backup_id, backup_request_id, backup_job_id, data_date, backup_provider_code,
       storage_path_name, backup_byte_count, copy_start_timestamp, copy_end_timestamp,
       verify_start_timestamp, verify_end_timestamp, verified_hash, days_to_keep, hold_flag, due_to_delete_date)
     SELECT gen_random_uuid(), r.backup_request_id, r.backup_job_id, r.data_date,
       coalesce(r.backup_provider_code, j.backup_provider_code), $2, $3, $4, $5, $6, $7, $8,
       j.days_to_keep, j.hold_flag, r.data_date + j.days_to_keep
     FROM backup_requests r JOIN backup_jobs j ON j.backup_job_id = r.backup_job_id
     WHERE r.backup_request_id = $1
     ON CONFLICT (backup_request_id) DO NOTHING`,
    [
      reply.backupRequestId,
      reply.storagePathName,
      reply.backupByteCount,
      reply.copyStartTimestamp,
      reply.copyEndTimestamp,
      reply.verifyStartTimestamp ?? null,
      reply.verifyEndTimestamp ?? null,
      reply.verifiedHash ?? null,
    ],
  );

const rejectReply = (tx: PoolClient, reply: StatusReply, reason: string) =>
  tx.query(
    `INSERT INTO rejected_replies (backup_request_id, result_type_code, reason, reply) VALUES ($1, $2, $3, $4)`,
    [reply.backupRequestId, reply.resultTypeCode, reason, JSON.stringify(reply)],
  );

/**
 * Applies a reply from the backup interface in one transaction (SPEC §4), with the request row
 * locked so that concurrent replies for one request apply one after the other. Returns what was
 * done, and the request's trace id (replies need not carry it); a rejected reply is stored in
 * rejected_replies.
 */
export async function applyStatusReply(pool: Pool, reply: StatusReply): Promise<{ action: ReplyAction; traceId: string | undefined }> {
  return withTransaction(pool, async (tx) => {
    const locked = await lockRequest(tx, reply.backupRequestId);
    let action = replyAction(locked, reply);
    if (action.kind === 'record-backup' && !locked?.jobExists) {
      action = { kind: 'reject', reason: 'the backup job of this request no longer exists' };
    }
    switch (action.kind) {
      case 'reject':
        await rejectReply(tx, reply, action.reason);
        break;
      case 'record-backup':
        await insertBackup(tx, reply);
        await recordTransition(tx, { backupRequestId: reply.backupRequestId, to: 'Succeeded' });
        break;
      case 'succeed':
        await recordTransition(tx, { backupRequestId: reply.backupRequestId, to: 'Succeeded' });
        break;
      case 'fail':
        await recordTransition(tx, { backupRequestId: reply.backupRequestId, to: 'Failed', reason: action.reason });
        break;
      case 'no-op':
        break;
    }
    return { action, traceId: locked?.traceId };
  });
}
