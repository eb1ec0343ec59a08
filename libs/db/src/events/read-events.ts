import { STATUS_CHANGED_EVENT, formatEventId, parseEventId, type RequestStatus, type StatusEvent } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { NEW_XID, SNAPSHOT_XMIN, readOnceFinal, xidOf } from '../commit-order/watermark.js';

export interface ReadEventsOptions {
  /** Events after this event id (an eventId; "0" = from the oldest event kept). */
  afterId: string;
  /** At most this many events. */
  limit: number;
  /** Only this client's events. */
  requesterId?: string | undefined;
  /** Only this request's events. */
  backupRequestId?: string | undefined;
  /**
   * How long to wait for transactions still running that may commit events below the ones seen
   * (default 1000 ms); when one outlives it, the call returns no events and `pending`.
   */
  finalWaitMs?: number | undefined;
}

export interface EventsRead {
  /** In id order, every one final: no event with a lower id can appear later. */
  events: StatusEvent[];
  /** Pass back as `afterId` to read on: the id of the last event returned, else `afterId`. */
  resumeAfter: string;
  /** The page was full: more events may be there already. */
  more: boolean;
  /** Events exist after `resumeAfter` that are not final yet (an older transaction is still running). */
  pending: boolean;
}

/** Beyond this many ids above `afterId`, a filtered read does not count the rows in between. */
const CONTIGUOUS_CHECK_MAX_SPAN = 1000;

interface EventRow {
  id: string | null;
  backupRequestId: string;
  requesterId: string;
  backupJobId: string;
  status: RequestStatus;
  previousStatus: RequestStatus | null;
  reason: string | null;
  at: Date;
  traceId: string;
}

const EVENT_COLUMNS = `id, backup_request_id AS "backupRequestId", requester_id AS "requesterId",
  backup_job_id AS "backupJobId", status, previous_status AS "previousStatus", reason, at, trace_id AS "traceId"`;

const toEvent = (row: EventRow): StatusEvent => ({
  eventId: formatEventId(row.id!),
  type: STATUS_CHANGED_EVENT,
  backupRequestId: row.backupRequestId,
  requesterId: row.requesterId,
  backupJobId: row.backupJobId,
  status: row.status,
  previousStatus: row.previousStatus,
  reason: row.reason,
  at: row.at.toISOString(),
  traceId: row.traceId,
});

/** The filter's SQL (parameters from $first) and values. One request's events: its requester's, filtered. */
function filterOf(options: ReadEventsOptions, first: number): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (options.requesterId !== undefined) {
    values.push(options.requesterId);
    conditions.push(`requester_id = $${first + values.length - 1}`);
  }
  if (options.backupRequestId !== undefined) {
    values.push(options.backupRequestId);
    const param = `$${first + values.length - 1}::uuid`;
    conditions.push(`backup_request_id = ${param}`, `requester_id = (SELECT requester_id FROM backup_requests WHERE backup_request_id = ${param})`);
  }
  return { sql: conditions.map((condition) => ` AND ${condition}`).join(''), values };
}

/**
 * The events after `afterId` that are final, in id order (SPEC §8: a reader resumes after any event
 * it got and misses none that commits later). Ids are taken in one order and committed in another
 * (commit-order/watermark.ts), so the events seen are returned only once every event with a lower
 * id is final:
 *
 * 1. One statement reads the first page above `afterId`. When every id between `afterId` and the
 *    last one seen is there (the usual case: no transaction in flight holds one of them, none rolled
 *    back, none pruned), the page is final as it is: one round trip. Otherwise the statement also
 *    takes a new xid (after its snapshot).
 * 2. Otherwise it reads the same range again until a snapshot's xmin has reached that xid, i.e.
 *    every transaction that could still commit an event in the range has ended (usually the next
 *    statement already; at most `finalWaitMs`), and returns what that read found.
 *
 * Never returns an event with a lower id after one with a higher id, whatever the callers' filters.
 * Called with a pool (each statement its own transaction), never inside a transaction of the
 * caller's: an open transaction of its own would hold xmin back. Throws RangeError for an
 * `afterId` that is not an event id.
 */
export async function readEventsAfter(db: Queryable, options: ReadEventsOptions): Promise<EventsRead> {
  const after = parseEventId(options.afterId);
  if (after === undefined) throw new RangeError(`not an event id: ${JSON.stringify(options.afterId)}`);
  const filter = filterOf(options, 3);
  const filtered = filter.values.length > 0;
  // (1) the first page; when an id between afterId and its last one is missing, a new xid
  const present = filtered
    ? `CASE WHEN span.ids <= ${CONTIGUOUS_CHECK_MAX_SPAN}
         THEN (SELECT count(*) FROM backup_request_events WHERE id > $1 AND id <= $1 + span.ids) END`
    : 'span.rows';
  const { rows } = await db.query<EventRow & { xid: string | null }>(
    `WITH page AS (
       SELECT ${EVENT_COLUMNS} FROM backup_request_events WHERE id > $1${filter.sql} ORDER BY id LIMIT $2
     ), span AS (SELECT max(id) - $1 AS ids, count(*) AS rows FROM page)
     SELECT page.*, CASE WHEN span.ids IS NOT NULL AND NOT coalesce(span.ids = ${present}, false) THEN ${NEW_XID}::text END AS xid
     FROM span LEFT JOIN page ON true ORDER BY page.id`,
    [after, options.limit, ...filter.values],
  );
  const seen = rows.filter((row) => row.id !== null);
  const empty: EventsRead = { events: [], resumeAfter: options.afterId, more: false, pending: false };
  if (seen.length === 0) return empty;
  const upTo = Number(seen.at(-1)!.id);
  const page = (final: EventRow[]): EventsRead => ({
    events: final.map(toEvent),
    resumeAfter: final.length > 0 ? formatEventId(final.at(-1)!.id!) : options.afterId,
    more: final.length >= options.limit,
    pending: false,
  });
  if (rows[0]!.xid === null) return page(seen);

  // (2) the same range once every transaction older than the xid taken above has ended
  const xid = xidOf(rows[0]!.xid);
  const final = await readOnceFinal(async () => {
    const { rows: again } = await db.query<EventRow>(
      `SELECT page.* FROM (SELECT ${SNAPSHOT_XMIN} >= $3::text::xid8 AS final) bounds
       LEFT JOIN LATERAL (
         SELECT ${EVENT_COLUMNS} FROM backup_request_events
         WHERE bounds.final AND id > $1 AND id <= $4${filterOf(options, 5).sql} ORDER BY id LIMIT $2
       ) page ON true
       WHERE bounds.final ORDER BY page.id`,
      [after, options.limit, String(xid), upTo, ...filter.values],
    );
    return again.length === 0 ? undefined : again.filter((row) => row.id !== null);
  }, options.finalWaitMs ?? 1000);
  return final === undefined ? { ...empty, pending: true } : page(final);
}
