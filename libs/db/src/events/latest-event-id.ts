import { formatEventId } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { NEW_XID, SNAPSHOT_XMIN, readOnceFinal } from '../commit-order/watermark.js';

/**
 * The newest event id such that every event up to it is final (commit-order/watermark.ts): where
 * a reader that wants only the events from now on starts (the event stream without Last-Event-ID),
 * so that it misses none committed after this call, not even one that took a lower id first. One
 * statement reads the highest id and takes a new xid; the id is final once a snapshot's xmin has
 * reached that xid (usually the next statement). `final: false` when a transaction older than that
 * was still running after `waitMs`: the id is returned anyway, and an event such a transaction
 * commits below it later would not be read by a reader starting here.
 */
export async function latestFinalEventId(db: Queryable, waitMs = 1000): Promise<{ eventId: string; final: boolean }> {
  const { rows } = await db.query<{ id: string; xid: string }>(
    `SELECT coalesce((SELECT max(id) FROM backup_request_events), 0)::text AS id, ${NEW_XID}::text AS xid`,
  );
  const { id, xid } = rows[0]!;
  const final = await readOnceFinal(async () => {
    const { rows: bounds } = await db.query<{ final: boolean }>(`SELECT ${SNAPSHOT_XMIN} >= $1::text::xid8 AS final`, [xid]);
    return bounds[0]!.final ? true : undefined;
  }, waitMs);
  return { eventId: formatEventId(id), final: final === true };
}
