import type { RetentionName } from '@linebacker/config';
import type { Queryable } from '../pool.js';

/**
 * Rows kept only for a while (SPEC §6: tables that only grow for bookkeeping are pruned): each is
 * deleted once its `since` column is older than the retention configured under `retention`
 * (LINEBACKER_*_RETENTION_S). `since` must be a timestamptz with an index (a migration), so that
 * a batch finds the expired rows without scanning the table; rows whose `since` is NULL are kept.
 * Or, for an append-only log, `growsWith`: a column with an index that grows with `since` (its
 * primary key); a batch then looks at the `limit` oldest rows by it and deletes those expired, and
 * `since` needs no index of its own.
 */
export interface ExpiringRows {
  table: string;
  since: string;
  retention: RetentionName;
  growsWith?: string;
}

/** Every table the leader prunes (apps/http-receiver pruning); one entry per table. */
export const EXPIRING_ROWS: readonly ExpiringRows[] = [
  { table: 'idempotency_keys', since: 'created_at', retention: 'idempotencyKeys' },
  { table: 'rejected_replies', since: 'rejected_at', retention: 'rejectedReplies' },
  // never a row not yet applied (applied_at NULL): reconciliation still owes it its job
  { table: 'reply_inbox', since: 'applied_at', retention: 'appliedReplies' },
  // refused on use once past either expiry; deleted a while after the absolute one
  { table: 'browser_sessions', since: 'expires_at', retention: 'expiredSessions' },
  // the status-event outbox (SPEC §8): the status history stays, the events go
  { table: 'backup_request_events', since: 'at', retention: 'events', growsWith: 'id' },
  // webhook deliveries once delivered or failed (never a pending one: finished_at NULL)
  { table: 'webhook_deliveries', since: 'finished_at', retention: 'deliveries' },
];

/**
 * Deletes at most `limit` rows of `rows.table` older than `retentionS`, in one short statement
 * (the expired rows' ctids by the `since` index, then a TID scan); returns how many. Called again
 * while it returns `limit`, it never holds locks or builds up dead rows the way one giant DELETE
 * would.
 */
export async function deleteExpiredRows(db: Queryable, rows: ExpiringRows, retentionS: number, limit: number): Promise<number> {
  const expired = `${rows.since} < now() - make_interval(secs => $1)`;
  const candidates = rows.growsWith
    ? `SELECT ctid FROM (SELECT ctid, ${rows.since} FROM ${rows.table} ORDER BY ${rows.growsWith} LIMIT $2) oldest WHERE ${expired}`
    : `SELECT ctid FROM ${rows.table} WHERE ${expired} LIMIT $2`;
  const { rowCount } = await db.query(`DELETE FROM ${rows.table} WHERE ctid = ANY (ARRAY(${candidates})) AND ${expired}`, [retentionS, limit]);
  return rowCount ?? 0;
}
