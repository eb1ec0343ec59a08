import type { RequestStatus } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

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

/** The Sent requests without a reply for `timeoutMs`, oldest first (SPEC §6 reply timeout). */
export async function findUnanswered(db: Queryable, timeoutMs: number, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT backup_request_id AS id FROM backup_requests
     WHERE in_pipeline AND status = 'Sent' AND sent_at < now() - make_interval(secs => $1 / 1000.0)
     ORDER BY sent_at LIMIT $2`,
    [timeoutMs, limit],
  );
  return rows.map((row) => row.id);
}
