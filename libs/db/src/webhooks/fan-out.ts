import { preparedStatement } from '../prepared-statement.js';
import type { Queryable } from '../pool.js';

/** Where the fan-out has read the event outbox up to (an outbox id; 0 before the first event). */
export async function readFanOutPosition(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ after: string }>('SELECT after_event_id AS after FROM webhook_fanout');
  return Number(rows[0]!.after);
}

/**
 * In one snapshot: whether any webhook endpoint exists, and the highest event id (0 before the
 * first event). Every event up to that id was written by a transaction that took its id before the
 * snapshot (ids are handed out in increasing order), so by one that began before any endpoint
 * created after the snapshot was committed: with no endpoint in the snapshot, none of those events
 * is owed to anyone (a new endpoint is not sent the past) and the fan-out can pass them without
 * reading them. Two cheap reads: the first row of webhook_endpoints, the primary key's last entry.
 */
export async function readFanOutHorizon(db: Queryable): Promise<{ anyEndpoint: boolean; latestEventId: number }> {
  const { rows } = await db.query<{ anyEndpoint: boolean; latest: string }>(
    preparedStatement(`SELECT EXISTS (SELECT FROM webhook_endpoints) AS "anyEndpoint",
       coalesce((SELECT max(id) FROM backup_request_events), 0)::text AS latest`),
  );
  return { anyEndpoint: rows[0]!.anyEndpoint, latestEventId: Number(rows[0]!.latest) };
}

export interface NewDelivery {
  endpointId: string;
  /** The outbox id of the event. */
  eventId: number;
  /** The JSON text to POST, the same on every attempt. */
  body: string;
}

/**
 * Inserts the deliveries of the events from `from` (exclusive) to `to` (inclusive) and moves the
 * fan-out position to `to`, in one statement, only if the position still is `from`: when two
 * notifiers fan out the same events, one moves the position and inserts, the other changes
 * nothing. A delivery that exists already (same endpoint and event) is left as it is; one for an
 * endpoint deleted meanwhile is not inserted. Returns whether this call moved the position, and
 * how many deliveries it inserted.
 */
export async function fanOutDeliveries(
  db: Queryable,
  move: { from: number; to: number },
  deliveries: NewDelivery[],
): Promise<{ moved: boolean; inserted: number }> {
  const { rows } = await db.query<{ moved: number; inserted: number }>(
    `WITH moved AS (
       UPDATE webhook_fanout SET after_event_id = $2, updated_at = now() WHERE after_event_id = $1 RETURNING 1
     ), inserted AS (
       INSERT INTO webhook_deliveries (endpoint_id, event_id, body)
       SELECT d.endpoint_id, d.event_id, d.body FROM unnest($3::uuid[], $4::bigint[], $5::text[]) AS d (endpoint_id, event_id, body)
       WHERE EXISTS (SELECT FROM moved) AND EXISTS (SELECT FROM webhook_endpoints e WHERE e.endpoint_id = d.endpoint_id)
       ON CONFLICT (endpoint_id, event_id) DO NOTHING
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM moved)::int AS moved, (SELECT count(*) FROM inserted)::int AS inserted`,
    [move.from, move.to, deliveries.map((d) => d.endpointId), deliveries.map((d) => d.eventId), deliveries.map((d) => d.body)],
  );
  return { moved: rows[0]!.moved > 0, inserted: rows[0]!.inserted };
}
