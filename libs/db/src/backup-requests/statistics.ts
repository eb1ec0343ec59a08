import { REQUEST_STATUSES, type RequestStatus } from '@linebacker/domain';
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { NEW_XID, SNAPSHOT_XMIN, isFinalAt, readOnceFinal, xidOf, type Watermark } from '../commit-order/watermark.js';

const count = z.int().min(0);

/** What /healthz shows of the requests (the receiver's health schema and /openapi.json use it). */
export const requestStatisticsSchema = z
  .object({
    byStatus: z.object(Object.fromEntries(REQUEST_STATUSES.map((status) => [status, count])) as Record<RequestStatus, typeof count>),
    oldestNonTerminalAgeSeconds: count.nullable().meta({ description: 'of the oldest Received, Allowed or Sent request' }),
  })
  .meta({ id: 'RequestStatistics' });
export type RequestStatistics = z.infer<typeof requestStatisticsSchema>;

type Counts = Record<RequestStatus, number>;

const noCounts = (): Counts => Object.fromEntries(REQUEST_STATUSES.map((status) => [status, 0])) as Counts;

/** History rows with the same change, counted: each is +1 for `status`, -1 for `previous`. */
interface Change {
  status: RequestStatus;
  previous: RequestStatus | null;
  /** Whether these rows have ids up to the fold candidate's. */
  settled: boolean;
  rows: number;
}

/** One statement's view (one snapshot) of the changes above an id, with that snapshot's bounds. */
interface ChangesRead {
  changes: Change[];
  /** The highest history id visible above `after`, if any. */
  lastId: number | null;
  /** pg_snapshot_xmin of the statement's snapshot (xid8, well below 2^53). */
  xmin: number;
  /** An xid taken after the snapshot (pg_current_xact_id), when asked for and rows were seen above `after`. */
  nextXid: number | null;
  oldestSeconds: number | null;
  /** Counts of the whole table (the starting count only). */
  totals: Partial<Counts> | null;
}

const OLDEST = `(SELECT extract(epoch FROM now() - min(received_at))::float8 FROM backup_requests WHERE in_pipeline)`;
const TOTALS = `(SELECT json_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM backup_requests GROUP BY status) t)`;

/**
 * The history rows above `after`, grouped by change and by whether their id is at most
 * `settledUpTo`; the age of the oldest open request; the snapshot's xmin; with `nextXid`, a new xid
 * (only when there are rows above `after`: an idle collector takes none); with `totals`, the counts
 * of the whole table too. One statement, so one snapshot: everything agrees.
 */
async function readChanges(
  db: Queryable,
  options: { after: number; settledUpTo: number; nextXid: boolean; totals: boolean },
): Promise<ChangesRead> {
  const { rows } = await db.query<{
    changes: (Change & { last: number })[];
    oldest: number | null;
    xmin: string;
    next: string | null;
    totals: Partial<Counts> | null;
  }>(
    `WITH changes AS (
       SELECT status, previous_status AS previous, id <= $2 AS settled, count(*)::int AS rows, max(id) AS last
       FROM backup_request_status_history WHERE id > $1
       GROUP BY status, previous_status, id <= $2
     )
     SELECT (SELECT coalesce(json_agg(c), '[]') FROM changes c) AS changes, ${OLDEST} AS oldest,
       ${SNAPSHOT_XMIN}::text AS xmin,
       CASE WHEN $3 AND EXISTS (SELECT FROM changes) THEN ${NEW_XID}::text END AS next,
       ${options.totals ? TOTALS : 'NULL'} AS totals`,
    [options.after, options.settledUpTo, options.nextXid],
  );
  const row = rows[0]!;
  const ids = row.changes.map((change) => Number(change.last));
  return {
    changes: row.changes,
    lastId: ids.length > 0 ? Math.max(...ids) : null,
    xmin: xidOf(row.xmin),
    nextXid: row.next === null ? null : xidOf(row.next),
    oldestSeconds: row.oldest,
    totals: row.totals,
  };
}

function apply(counts: Counts, changes: Change[], sign: 1 | -1 = 1): Counts {
  const result = { ...counts };
  for (const change of changes) {
    result[change.status] += sign * change.rows;
    if (change.previous) result[change.previous] -= sign * change.rows;
  }
  return result;
}

const statistics = (byStatus: Counts, oldestSeconds: number | null): RequestStatistics => ({
  byStatus,
  oldestNonTerminalAgeSeconds: oldestSeconds === null ? null : Math.round(oldestSeconds),
});

/** Counts by status and the oldest open request's age, from the whole table: O(table). */
export async function countAllRequests(db: Queryable): Promise<RequestStatistics> {
  const { rows } = await db.query<{ totals: Partial<Counts> | null; oldest: number | null }>(`SELECT ${TOTALS} AS totals, ${OLDEST} AS oldest`);
  return statistics({ ...noCounts(), ...rows[0]?.totals }, rows[0]?.oldest ?? null);
}

export interface RequestCountsOptions {
  /** How often to summarize new page ranges of the history's BRIN index (default 30 s). */
  summarizeEveryMs?: number;
  /** How long the starting count waits for transactions in progress before counting (default 1 s). */
  startWaitMs?: number;
}

/**
 * Request counts by status (and the oldest open request's age) at a cost that follows the status
 * changes since the last call, not the size of the table (issue 12): what the health leader
 * collects every second.
 *
 * Every status change writes a history row (+1 for its status, -1 for the previous one; migration
 * status-history-counts), so the counts now are the counts of the rows up to a watermark id plus
 * the rows above it. The first call counts the whole table once; every later call reads only the
 * rows above the watermark (a BRIN index on id) and moves the watermark up when that is safe.
 *
 * Safe, because a row above the watermark is folded only once it is final (commit-order/watermark.ts:
 * ids are taken in one order and committed in another). The candidate watermark is the highest id a
 * read saw, with a new xid taken in that read; once a later read's snapshot xmin reaches that xid,
 * the rows up to the candidate are folded into the counts and never read again. Until then they are
 * counted live on every call. So each call is exact at its own snapshot, and a long transaction
 * anywhere in the cluster only delays folding (more rows read per call), never loses a row. The
 * cost: one xid per call while requests change.
 *
 * Requests are never deleted (SPEC); a request deleted by hand stays counted until the collector
 * starts again. One instance per collecting process; not for concurrent use.
 */
export class RequestCounts {
  /** Counts over every history row with id up to `upTo`: all final (committed, or never will be). */
  private folded: { counts: Counts; upTo: number } | undefined;
  private candidate: Watermark | undefined;
  /** The starting watermark, taken before the starting count. */
  private start: Watermark | undefined;
  private summarizedAt = 0;
  private readonly summarizeEveryMs: number;
  private readonly startWaitMs: number;

  constructor(options: RequestCountsOptions = {}) {
    this.summarizeEveryMs = options.summarizeEveryMs ?? 30_000;
    this.startWaitMs = options.startWaitMs ?? 1000;
  }

  async read(db: Queryable): Promise<RequestStatistics> {
    if (!this.folded) return (await this.countFromStart(db)) ?? countAllRequests(db);
    const folded = this.folded;
    const candidate = this.candidate;
    const read = await readChanges(db, { after: folded.upTo, settledUpTo: candidate?.upTo ?? folded.upTo, nextXid: !candidate, totals: false });
    let live = read.changes;
    if (candidate && isFinalAt(candidate, read.xmin)) {
      folded.counts = apply(folded.counts, read.changes.filter((change) => change.settled));
      folded.upTo = candidate.upTo;
      this.candidate = undefined;
      live = read.changes.filter((change) => !change.settled);
    }
    if (!candidate && read.lastId !== null && read.nextXid !== null) this.candidate = { upTo: read.lastId, xid: read.nextXid };
    this.summarizeNewRanges(db);
    return statistics(apply(folded.counts, live), read.oldestSeconds);
  }

  /**
   * The starting count: a watermark (the history's last id, then a new xid), a wait until every
   * transaction older than that xid has ended, then one statement counting the whole table and the
   * rows above the watermark, whose difference is the count up to it. Undefined when a transaction
   * outlives the wait; the next call tries again.
   */
  private async countFromStart(db: Queryable): Promise<RequestStatistics | undefined> {
    if (!this.start) {
      // (in this order: the id first, then the xid)
      const { rows: ids } = await db.query<{ upTo: string }>(
        `SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS "upTo" FROM backup_request_status_history_id_seq`,
      );
      const { rows: xids } = await db.query<{ xid: string }>(`SELECT ${NEW_XID}::text AS xid`);
      this.start = { upTo: Number(ids[0]!.upTo), xid: xidOf(xids[0]!.xid) };
    }
    const start = this.start;
    const xmin = async () => xidOf((await db.query<{ xmin: string }>(`SELECT ${SNAPSHOT_XMIN}::text AS xmin`)).rows[0]!.xmin);
    if (!(await readOnceFinal(async () => (isFinalAt(start, await xmin()) ? true : undefined), this.startWaitMs))) return undefined;
    const read = await readChanges(db, { after: start.upTo, settledUpTo: start.upTo, nextXid: true, totals: true });
    if (!isFinalAt(start, read.xmin)) return undefined;
    const totals = { ...noCounts(), ...read.totals };
    this.folded = { counts: apply(totals, read.changes, -1), upTo: start.upTo };
    this.candidate = read.lastId !== null && read.nextXid !== null ? { upTo: read.lastId, xid: read.nextXid } : undefined;
    this.start = undefined;
    return statistics(totals, read.oldestSeconds);
  }

  /**
   * A BRIN scan reads every page range not summarized yet; VACUUM summarizes them, but an
   * append-only table is vacuumed rarely. The lock timeout keeps this from waiting for (and, after
   * deadlock_timeout, cancelling) an autovacuum of the table, which summarizes them anyway.
   */
  private summarizeNewRanges(db: Queryable): void {
    if (Date.now() - this.summarizedAt < this.summarizeEveryMs) return;
    this.summarizedAt = Date.now();
    void db.query(`SET LOCAL lock_timeout = '50ms'; SELECT brin_summarize_new_values('backup_request_status_history_id_brin')`).catch(
      () => undefined,
    );
  }
}
