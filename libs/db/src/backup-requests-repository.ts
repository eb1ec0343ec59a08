import { createHash } from 'node:crypto';
import {
  RESUBMITTABLE_STATUSES,
  type BackupRequest,
  type RequestStatus,
  type StatusHistoryEntry,
} from '@linebacker/domain';
import type { Pool, PoolClient, Queryable } from './pool.js';
import { REQUEST_COLUMNS } from './request-columns.js';
import { withTransaction } from './transaction.js';

export interface NewBackupRequest {
  backupRequestId: string;
  requesterId: string;
  backupJobId: string;
  dataDate: string;
  backupDataLocation: string;
  traceId: string;
}

export interface AcceptOutcome {
  request: BackupRequest;
  /** false when an equal, still-live request existed and is returned instead (SPEC §2.3). */
  created: boolean;
}

/**
 * One statement: return the live duplicate if there is one, else insert the request and its first
 * history row. Runs after the duplicate lock, so its snapshot sees every committed duplicate.
 */
const INSERT_UNLESS_DUPLICATE = `
  WITH existing AS (
    SELECT ${REQUEST_COLUMNS} FROM backup_requests
    WHERE requester_id = $2 AND backup_job_id = $3 AND data_date = $4 AND backup_data_location = $5
      AND status <> ALL ($7::text[])
    ORDER BY seq DESC LIMIT 1
  ), inserted AS (
    INSERT INTO backup_requests
      (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
    SELECT $1::uuid, $2::text, $3::text, $4::date, $5::text, 'Received', $6::text WHERE NOT EXISTS (SELECT 1 FROM existing)
    RETURNING ${REQUEST_COLUMNS}
  ), history AS (
    INSERT INTO backup_request_status_history (backup_request_id, status, at)
    SELECT "backupRequestId", status, "receivedAt" FROM inserted
  )
  SELECT *, false AS created FROM existing
  UNION ALL
  SELECT *, true AS created FROM inserted`;

/** A 64-bit advisory-lock key for the duplicate tuple, so that equal POSTs are serialised. */
function duplicateLockKey(request: NewBackupRequest): string {
  const digest = createHash('sha256')
    .update([request.requesterId, request.backupJobId, request.dataDate, request.backupDataLocation].join('\u0000'))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Stores a new request with status Received and its first history row, in one transaction, unless
 * an equal request (same requester, job, date and location) exists that is not NotAllowed or Failed;
 * then that one is returned. `alsoInTransaction` runs before COMMIT with the outcome (e.g. to save
 * an idempotent response atomically with the request).
 */
export async function acceptBackupRequest(
  pool: Pool,
  request: NewBackupRequest,
  alsoInTransaction?: (tx: PoolClient, outcome: AcceptOutcome) => Promise<void>,
): Promise<AcceptOutcome> {
  // BEGIN and the lock travel in one round trip; the key is a number we computed, not input.
  const begin = `BEGIN; SELECT pg_advisory_xact_lock(${duplicateLockKey(request)})`;
  return withTransaction(
    pool,
    async (tx) => {
      const { rows } = await tx.query<BackupRequest & { created: boolean }>(INSERT_UNLESS_DUPLICATE, [
        request.backupRequestId,
        request.requesterId,
        request.backupJobId,
        request.dataDate,
        request.backupDataLocation,
        request.traceId,
        RESUBMITTABLE_STATUSES,
      ]);
      const [row] = rows;
      if (!row) throw new Error('insert-unless-duplicate returned no row');
      const { created, ...stored } = row;
      const outcome = { request: stored, created };
      await alsoInTransaction?.(tx, outcome);
      return outcome;
    },
    begin,
  );
}

export type BackupRequestWithHistory = BackupRequest & { history: StatusHistoryEntry[] };

export async function getBackupRequestWithHistory(
  db: Queryable,
  backupRequestId: string,
): Promise<BackupRequestWithHistory | undefined> {
  const { rows } = await db.query<BackupRequest & { history: { status: RequestStatus; at: string; reason: string | null }[] }>(
    `SELECT ${REQUEST_COLUMNS},
       (SELECT coalesce(json_agg(json_build_object('status', h.status, 'at', h.at, 'reason', h.reason) ORDER BY h.id), '[]')
        FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id) AS history
     FROM backup_requests r WHERE backup_request_id = $1`,
    [backupRequestId],
  );
  const [row] = rows;
  if (!row) return undefined;
  return { ...row, history: row.history.map((entry) => ({ ...entry, at: new Date(entry.at) })) };
}

export interface BackupRequestFilter {
  requesterId: string;
  status?: RequestStatus | undefined;
  backupJobId?: string | undefined;
  since?: Date | undefined;
  /** Opaque position from a previous page (the `seq` of its last item). */
  before?: string | undefined;
  limit: number;
}

export interface BackupRequestPage {
  items: BackupRequest[];
  /** Pass as `before` to get the next (older) page; undefined on the last page. */
  next: string | undefined;
}

/** The requester's requests, newest first, keyset-paginated on the insertion sequence. */
export async function listBackupRequests(db: Queryable, filter: BackupRequestFilter): Promise<BackupRequestPage> {
  const { rows } = await db.query<BackupRequest & { seq: string }>(
    `SELECT ${REQUEST_COLUMNS}, seq FROM backup_requests
     WHERE requester_id = $1
       AND ($2::text IS NULL OR status = $2)
       AND ($3::text IS NULL OR backup_job_id = $3)
       AND ($4::timestamptz IS NULL OR received_at >= $4)
       AND ($5::bigint IS NULL OR seq < $5)
     ORDER BY seq DESC LIMIT $6`,
    [filter.requesterId, filter.status ?? null, filter.backupJobId ?? null, filter.since ?? null, filter.before ?? null, filter.limit + 1],
  );
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ seq: _seq, ...request }) => request),
    next: rows.length > filter.limit && last ? last.seq : undefined,
  };
}
