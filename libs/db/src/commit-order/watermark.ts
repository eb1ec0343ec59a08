import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Reading an append-only table "after id N" in commit order (the status history's request counts,
 * backup-requests/statistics.ts; the status-event outbox, events/read-events.ts).
 *
 * Ids are taken in one order but committed in another: a row with a lower id may become visible
 * after a higher one (its transaction took the id first and committed later). A reader that moved
 * past the higher id would never see the lower one. So a reader treats the rows up to an id as
 * final only once no transaction that can still write a row at or below it is running:
 *
 * A candidate watermark is the highest id a read saw, with a new xid taken in that read
 * (pg_current_xact_id, after its snapshot). Every transaction that can still write a row at or
 * below the candidate took its id before that row, which was committed before the snapshot, and
 * had its own xid before it took the id (the rows are written by the status trigger, after the
 * request row changed; ids are handed out one at a time, CACHE 1): its xid is below the
 * candidate's. Once a later snapshot's xmin reaches the candidate's xid, every such transaction has
 * ended, and the rows up to the candidate are final: committed, or never will be. (A snapshot's
 * xmax is no such bound: it is the latest *completed* xid + 1, and a transaction running with a
 * newer xid is not in its list.)
 *
 * A long transaction anywhere in the cluster (one that has an xid) holds xmin back and so only
 * delays the moment rows become final; no row is ever skipped. The cost: one xid per read that saw
 * new rows.
 */

/** SQL: the xmin of the statement's snapshot (an xid8; compare with `>=` or read as text). */
export const SNAPSHOT_XMIN = 'pg_snapshot_xmin(pg_current_snapshot())';

/** SQL: a new xid for the reading transaction, taken after the statement's snapshot (an xid8). */
export const NEW_XID = 'pg_current_xact_id()';

/** Rows with ids up to `upTo` are final once a snapshot's xmin reaches `xid` (see above). */
export interface Watermark {
  upTo: number;
  xid: number;
}

/** An xid8 read as text (far below 2^53 for the life of any cluster). */
export const xidOf = (text: string): number => Number(text);

export const isFinalAt = (watermark: Watermark, xmin: number): boolean => xmin >= watermark.xid;

/**
 * Calls `read` until it answers (it answers undefined while what it needs is not final yet), with
 * pauses growing from 2 to 20 ms; undefined when `waitMs` passed first (a transaction older than
 * the watermark is still running: try again later). The transactions waited for are single
 * statements or short transactions of the pipeline, so this usually takes one or two calls.
 */
export async function readOnceFinal<T>(read: () => Promise<T | undefined>, waitMs: number): Promise<T | undefined> {
  const deadline = Date.now() + waitMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 20)) {
    const result = await read();
    if (result !== undefined || Date.now() >= deadline) return result;
    await sleep(pause);
  }
}
