import { canTransition, statusesLeadingTo, truncateReason, type BackupRequest, type RequestStatus } from '@linebacker/domain';
import type { Queryable } from './pool.js';
import { preparedStatement } from './prepared-statement.js';
import { REQUEST_COLUMNS } from './request-columns.js';

/** The timestamp column set by the step that makes each change (SPEC §2.1). */
const STEP_TIMESTAMP: Partial<Record<RequestStatus, string>> = {
  Allowed: 'checked_at',
  NotAllowed: 'checked_at',
  Sent: 'sent_at',
  Succeeded: 'replied_at',
  Failed: 'replied_at',
};

export type RecordedTransition = Pick<BackupRequest, 'status' | 'statusReason' | 'traceId'>;

export interface Transition {
  backupRequestId: string;
  to: RequestStatus;
  reason?: string | undefined;
  /** For Allowed: copied from the backup job. */
  backupProviderCode?: string | undefined;
  storagePathName?: string | undefined;
  /**
   * Only from these statuses (default: every status that may lead to `to`); those that may not
   * lead to `to` are ignored. For a decision taken on a status read earlier.
   */
  from?: readonly RequestStatus[] | undefined;
}

/**
 * Work that must succeed in the same statement for the transition to happen: SQL CTEs (`name AS
 * (...)`, comma-separated) whose last one, `gate`, yields the `backup_request_id` allowed to move.
 * Their parameters are numbered from $7.
 */
export interface TransitionGate {
  ctes: string;
  params: unknown[];
}

/**
 * One conditional UPDATE plus one history row, in one statement (so one transaction and one round
 * trip): `... WHERE id = $1 AND status = ANY(<statuses that may lead to the target>)` (SPEC §2.2).
 * Returns the new status and reason and the request's trace id, or undefined when the request was
 * not in a status that allows the move (already past this step, or unknown), or the gate let
 * nothing through. (Not the whole row: parsing it, timestamps and all, is CPU spent on every step.)
 */
export async function recordTransition(
  db: Queryable,
  transition: Transition,
  gate?: TransitionGate,
): Promise<RecordedTransition | undefined> {
  const timestampColumn = STEP_TIMESTAMP[transition.to];
  const setTimestamp = timestampColumn ? `, ${timestampColumn} = now()` : '';
  const expected = transition.from
    ? transition.from.filter((from) => canTransition(from, transition.to))
    : statusesLeadingTo(transition.to);
  const { rows } = await db.query<RecordedTransition>({
    ...preparedStatement(`WITH ${gate ? `${gate.ctes},` : ''} updated AS (
       UPDATE backup_requests SET status = $2, status_reason = $4,
         backup_provider_code = coalesce($5, backup_provider_code),
         storage_path_name = coalesce($6, storage_path_name)${setTimestamp}
       WHERE backup_request_id = $1 AND status = ANY ($3::text[])
         ${gate ? 'AND backup_request_id IN (SELECT backup_request_id FROM gate)' : ''}
       RETURNING backup_request_id, status, status_reason, trace_id
     ), history AS (
       INSERT INTO backup_request_status_history (backup_request_id, status, reason)
       SELECT backup_request_id, status, status_reason FROM updated
     )
     SELECT status, status_reason AS "statusReason", trace_id AS "traceId" FROM updated`),
    values: [
      transition.backupRequestId,
      transition.to,
      expected,
      transition.reason === undefined ? null : truncateReason(transition.reason),
      transition.backupProviderCode ?? null,
      transition.storagePathName ?? null,
      ...(gate?.params ?? []),
    ],
  });
  return rows[0];
}

export async function getBackupRequest(db: Queryable, backupRequestId: string): Promise<BackupRequest | undefined> {
  const { rows } = await db.query<BackupRequest>({
    ...preparedStatement(`SELECT ${REQUEST_COLUMNS} FROM backup_requests WHERE backup_request_id = $1`),
    values: [backupRequestId],
  });
  return rows[0];
}
