import { replyAction, type ReplyAction, type RequestForReply, type RequestStatus, type StatusReply } from '@linebacker/domain';
import type { Queryable } from './pool.js';
import { preparedStatement } from './prepared-statement.js';
import { recordTransition, type RecordedTransition, type TransitionGate } from './request-transitions.js';

/** What the reply table needs of a request, and what the caller needs besides. */
interface StoredRequest extends RequestForReply {
  traceId: string;
  jobExists: boolean;
}

const readRequest = async (db: Queryable, backupRequestId: string): Promise<StoredRequest | undefined> =>
  (
    await db.query<StoredRequest>({
      ...preparedStatement(`SELECT r.status, r.trace_id AS "traceId",
         EXISTS (SELECT 1 FROM backups b WHERE b.backup_request_id = r.backup_request_id) AS "hasBackup",
         EXISTS (SELECT 1 FROM backup_jobs j WHERE j.backup_job_id = r.backup_job_id) AS "jobExists"
       FROM backup_requests r WHERE r.backup_request_id = $1`),
      values: [backupRequestId],
    })
  ).rows[0];

/**
 * The Backup record (SPEC §4), from the request, its job, and the reply; unique per request. As a
 * transition gate: the request moves to Succeeded only if this statement inserted its Backup.
 */
const backupInsertedGate = (reply: StatusReply): TransitionGate => ({
  // the row lock re-reads the request at its latest version: the Backup is inserted only if the
  // request is still in the status the decision was taken on, and nobody can move it before the
  // UPDATE of this same statement
  ctes: `locked AS (
     SELECT backup_request_id, backup_job_id, data_date, backup_provider_code FROM backup_requests
     WHERE backup_request_id = $1 AND status = ANY ($3::text[])
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

const rejectReply = (db: Queryable, reply: StatusReply, reason: string) =>
  db.query(
    `INSERT INTO rejected_replies (backup_request_id, result_type_code, reason, reply) VALUES ($1, $2, $3, $4)`,
    [reply.backupRequestId, reply.resultTypeCode, reason, JSON.stringify(reply)],
  );

/**
 * Carries out `action`, decided on the request as it was read in `status`. Each action is one
 * statement, so one transaction (SPEC §4): the Backup insert and the move to Succeeded happen
 * together or not at all. A state change is conditional on the request still being in `status`;
 * `applied: false` when it was not (a concurrent reply or reconciliation moved it meanwhile). A
 * state change also tells the request's trace id.
 */
async function carryOut(
  db: Queryable,
  reply: StatusReply,
  action: ReplyAction,
  status: RequestStatus | undefined,
): Promise<{ applied: boolean; traceId?: string }> {
  const backupRequestId = reply.backupRequestId;
  const from = status ? [status] : [];
  const moved = (recorded: RecordedTransition | undefined) => ({ applied: Boolean(recorded), traceId: recorded?.traceId });
  switch (action.kind) {
    case 'reject':
      await rejectReply(db, reply, action.reason);
      return { applied: true };
    case 'record-backup':
      return moved(await recordTransition(db, { backupRequestId, to: 'Succeeded', from }, backupInsertedGate(reply)));
    case 'succeed':
      return moved(await recordTransition(db, { backupRequestId, to: 'Succeeded', from }));
    case 'fail':
      return moved(await recordTransition(db, { backupRequestId, to: 'Failed', reason: action.reason, from }));
    case 'no-op':
      return { applied: true };
  }
}

/** Each retry means another change won a race; a request has few statuses to move through. */
const MAX_ROUNDS = 5;

/** The request as it nearly always is when its reply comes: Sent, without a Backup. */
const AWAITING_REPLY: RequestForReply = { status: 'Sent', hasBackup: false };

/**
 * Applies a reply from the backup interface (SPEC §4). First, in one round trip, as if the request
 * awaits it (Sent, no Backup: the usual case), the decision of the reply table (libs/domain
 * replyAction) is carried out conditionally on that status. When the request is not in that state,
 * it reads the request, decides with the reply table, and carries the decision out in one
 * conditional statement; when the request changed in between (concurrent replies for one request),
 * it reads and decides again, so replies for one request apply one after the other, as with a row
 * lock, without holding a transaction open across round trips. Returns what was done, and the
 * request's trace id (replies need not carry it); a rejected reply is stored in rejected_replies.
 */
export async function applyStatusReply(db: Queryable, reply: StatusReply): Promise<{ action: ReplyAction; traceId: string | undefined }> {
  const usual = replyAction(AWAITING_REPLY, reply);
  const first = await carryOut(db, reply, usual, AWAITING_REPLY.status);
  if (first.applied) return { action: usual, traceId: first.traceId };
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const request = await readRequest(db, reply.backupRequestId);
    let action = replyAction(request, reply);
    if (action.kind === 'record-backup' && !request?.jobExists) {
      action = { kind: 'reject', reason: 'the backup job of this request no longer exists' };
    }
    if ((await carryOut(db, reply, action, request?.status)).applied) return { action, traceId: request?.traceId };
  }
  throw new Error(`backup request ${reply.backupRequestId} changed under every one of ${MAX_ROUNDS} attempts to apply a reply`);
}
