import { createHash } from 'node:crypto';
import {
  RESUBMITTABLE_STATUSES,
  type BackupRequest,
  type RequestForReply,
  type RequestStatus,
  type StatusHistoryEntry,
} from '@linebacker/domain';
import type { Pool, PoolClient, Queryable } from '../pool.js';
import { preparedStatement } from '../prepared-statement.js';
import { REQUEST_COLUMNS } from './columns.js';
import { withTransaction } from '../transaction.js';

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

/** A 64-bit advisory-lock key for the duplicate tuple, so that equal POSTs are serialised. */
function duplicateLockKey(request: NewBackupRequest): string {
  const digest = createHash('sha256')
    .update([request.requesterId, request.backupJobId, request.dataDate, request.backupDataLocation].join('\u0000'))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Stores a new request with status Received (its first history row is the database's), unless an equal request
 * (same requester, job, date and location) exists that is not NotAllowed or Failed; then that one is
 * returned. Equal POSTs are serialised by an advisory lock on the tuple (migration
 * accept-function). One round trip; with `alsoInTransaction` (e.g. saving an idempotent response
 * atomically with the request) it runs in a transaction with that work before COMMIT.
 */
export async function acceptBackupRequest(
  pool: Pool,
  request: NewBackupRequest,
  alsoInTransaction?: (tx: PoolClient, outcome: AcceptOutcome) => Promise<void>,
): Promise<AcceptOutcome> {
  const accept = async (db: Queryable): Promise<AcceptOutcome> => {
    const { rows } = await db.query<BackupRequest>({
      ...preparedStatement(`SELECT ${REQUEST_COLUMNS} FROM accept_backup_request($1, $2, $3, $4, $5, $6, $7, $8)`),
      values: [
        request.backupRequestId,
        request.requesterId,
        request.backupJobId,
        request.dataDate,
        request.backupDataLocation,
        request.traceId,
        duplicateLockKey(request),
        RESUBMITTABLE_STATUSES,
      ],
    });
    const [stored] = rows;
    if (!stored) throw new Error('accept_backup_request returned no row');
    return { request: stored, created: stored.backupRequestId === request.backupRequestId };
  };
  if (!alsoInTransaction) return accept(pool);
  return withTransaction(pool, async (tx) => {
    const outcome = await accept(tx);
    await alsoInTransaction(tx, outcome);
    return outcome;
  });
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
  /** Whose requests; undefined lists every client's (for operators). */
  requesterId?: string | undefined;
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

/**
 * The requester's (or everyone's) requests, newest first, keyset-paginated on the insertion
 * sequence. `seq > 0` (true of every row) lets it use the requester's index, which is partial on it
 * so that the accept's duplicate lookup cannot (migration accept-lookup-one-index).
 */
export async function listBackupRequests(db: Queryable, filter: BackupRequestFilter): Promise<BackupRequestPage> {
  const { rows } = await db.query<BackupRequest & { seq: string }>(
    `SELECT ${REQUEST_COLUMNS}, seq FROM backup_requests
     WHERE ($1::text IS NULL OR requester_id = $1)
       AND ($2::text IS NULL OR status = $2)
       AND ($3::text IS NULL OR backup_job_id = $3)
       AND ($4::timestamptz IS NULL OR received_at >= $4)
       AND ($5::bigint IS NULL OR seq < $5)
       AND seq > 0
     ORDER BY seq DESC LIMIT $6`,
    [filter.requesterId ?? null, filter.status ?? null, filter.backupJobId ?? null, filter.since ?? null, filter.before ?? null, filter.limit + 1],
  );
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ seq: _seq, ...request }) => request),
    next: rows.length > filter.limit && last ? last.seq : undefined,
  };
}

/** What receive-status decides a reply on: the request's status and storage path, whether it has a Backup, and whether its job still exists. */
export interface RequestForReplyRow extends RequestForReply {
  traceId: string;
  jobExists: boolean;
}

export async function readRequestForReply(db: Queryable, backupRequestId: string): Promise<RequestForReplyRow | undefined> {
  const { rows } = await db.query<RequestForReplyRow>({
    ...preparedStatement(`SELECT r.status, r.trace_id AS "traceId", r.storage_path_name AS "storagePathName",
       EXISTS (SELECT 1 FROM backups b WHERE b.backup_request_id = r.backup_request_id) AS "hasBackup",
       EXISTS (SELECT 1 FROM backup_jobs j WHERE j.backup_job_id = r.backup_job_id) AS "jobExists"
     FROM backup_requests r WHERE r.backup_request_id = $1`),
    values: [backupRequestId],
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
