import type { RequestStatus } from '@linebacker/domain';
import type { Queryable } from './pool.js';

export interface StrandedRequest {
  backupRequestId: string;
  traceId: string;
  receivedAt: Date;
}

/**
 * The oldest requests in `status` that last changed before `changedBefore`: candidates whose job
 * may be missing from Redis (after a crash between COMMIT and add, a Redis flush or restart).
 */
export async function findRequestsInStatus(
  db: Queryable,
  status: Extract<RequestStatus, 'Received' | 'Allowed'>,
  changedBefore: Date,
  limit: number,
): Promise<StrandedRequest[]> {
  const changedAt = status === 'Received' ? 'received_at' : 'checked_at';
  const { rows } = await db.query<StrandedRequest>(
    `SELECT backup_request_id AS "backupRequestId", trace_id AS "traceId", received_at AS "receivedAt"
     FROM backup_requests WHERE in_pipeline AND status = $1 AND ${changedAt} < $2
     ORDER BY received_at LIMIT $3`,
    [status, changedBefore, limit],
  );
  return rows;
}

/**
 * Of the requests `ids`, the ids of those still in `status` now (one query), for reconciliation to
 * re-read the candidates of its snapshot after it has looked at their jobs.
 */
export async function requestsStillInStatus(
  db: Queryable,
  ids: string[],
  status: Extract<RequestStatus, 'Received' | 'Allowed'>,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT backup_request_id AS id FROM backup_requests WHERE backup_request_id = ANY($1) AND status = $2`,
    [ids, status],
  );
  return rows.map((row) => row.id);
}

/**
 * Sent requests without a reply for `timeoutMs` become Failed with `reason` (SPEC §6), in one
 * statement with their history rows. A later success reply still wins (Failed → Succeeded).
 */
export async function failUnanswered(db: Queryable, timeoutMs: number, reason: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH due AS (
       SELECT backup_request_id FROM backup_requests
       WHERE in_pipeline AND status = 'Sent' AND sent_at < now() - make_interval(secs => $1 / 1000.0)
       ORDER BY sent_at LIMIT $3 FOR UPDATE SKIP LOCKED
     ), failed AS (
       UPDATE backup_requests r SET status = 'Failed', status_reason = $2, replied_at = now()
       FROM due WHERE r.backup_request_id = due.backup_request_id AND r.status = 'Sent'
       RETURNING r.backup_request_id
     ), history AS (
       INSERT INTO backup_request_status_history (backup_request_id, status, reason)
       SELECT backup_request_id, 'Failed', $2 FROM failed
     )
     SELECT backup_request_id AS id FROM failed`,
    [timeoutMs, reason, limit],
  );
  return rows.map((row) => row.id);
}
