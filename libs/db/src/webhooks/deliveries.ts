import type { Pool, Queryable } from '../pool.js';
import { withTransaction } from '../transaction.js';

/** A delivery a notifier has claimed for one attempt. */
export interface ClaimedDelivery {
  deliveryId: string;
  endpointId: string;
  url: string;
  /** The endpoint's secret as stored (sealed or not). */
  storedSecret: string;
  /** The outbox id of the event (the `webhook-id` is its eventId). */
  eventId: string;
  body: string;
  /** Attempts started, this one included. */
  attempts: number;
  createdAt: Date;
  /** The claim: the attempt's result is recorded only while the delivery is still leased with it. */
  lease: string;
}

/** One notifier claims at a time, so the per-endpoint limit holds across notifiers. */
const CLAIM_LOCK_KEY = 0x6c62_7768; // "lbwh"

/**
 * Claims up to `max` due deliveries for one attempt each, fairly: at most `perEndpoint` attempts in
 * flight per endpoint across every notifier (counting leases held by others), the earliest due
 * first. Each claimed delivery is leased for `leaseMs` (its next attempt is due when the lease ends,
 * so a notifier that dies mid-attempt leaves it to another) and its attempt is counted. Claims are
 * serialised by a transaction-scoped advisory lock: the limit is read and taken in one turn.
 */
export async function claimDeliveries(pool: Pool, options: { max: number; perEndpoint: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK_KEY]);
    const { rows } = await tx.query<ClaimedDelivery>(
      `WITH busy AS (
         SELECT endpoint_id, count(*)::int AS n FROM webhook_deliveries WHERE locked_until > now() GROUP BY endpoint_id
       ), picked AS (
         SELECT d.delivery_id FROM webhook_endpoints e
         CROSS JOIN LATERAL (
           SELECT delivery_id, next_attempt_at FROM webhook_deliveries d
           WHERE d.endpoint_id = e.endpoint_id AND d.finished_at IS NULL AND d.next_attempt_at <= now()
           ORDER BY d.next_attempt_at
           LIMIT greatest($2 - coalesce((SELECT n FROM busy WHERE busy.endpoint_id = e.endpoint_id), 0), 0)
         ) d
         ORDER BY d.next_attempt_at LIMIT $1
       )
       UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1, last_attempt_at = now(),
           locked_until = now() + make_interval(secs => $3), next_attempt_at = now() + make_interval(secs => $3)
       FROM picked, webhook_endpoints e
       WHERE d.delivery_id = picked.delivery_id AND e.endpoint_id = d.endpoint_id
       RETURNING d.delivery_id::text AS "deliveryId", d.endpoint_id AS "endpointId", e.url, e.secret AS "storedSecret",
         d.event_id::text AS "eventId", d.body, d.attempts, d.created_at AS "createdAt", d.locked_until::text AS lease`,
      [options.max, options.perEndpoint, options.leaseMs / 1000],
    );
    return rows;
  });
}

/**
 * Records a 2xx: the delivery is delivered; the endpoint has delivered now (and is failing no
 * more). Returns false when the lease was lost meanwhile (another notifier took the delivery over:
 * it records its own attempt).
 */
export async function recordDelivered(db: Queryable, delivery: Pick<ClaimedDelivery, 'deliveryId' | 'lease'>, statusCode: number): Promise<boolean> {
  const { rows } = await db.query<{ recorded: number }>(
    `WITH updated AS (
       UPDATE webhook_deliveries SET delivered_at = now(), locked_until = NULL, last_status_code = $3, last_error = NULL
       WHERE delivery_id = $1 AND locked_until = $2::timestamptz
       RETURNING endpoint_id
     ), endpoint AS (
       -- at most once a second per endpoint, and at once when it was failing
       UPDATE webhook_endpoints e SET last_delivered_at = now(), failing_since = NULL FROM updated u
       WHERE e.endpoint_id = u.endpoint_id
         AND (e.failing_since IS NOT NULL OR e.last_delivered_at IS NULL OR e.last_delivered_at < now() - interval '1 second')
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM updated)::int AS recorded`,
    [delivery.deliveryId, delivery.lease, statusCode],
  );
  return rows[0]!.recorded > 0;
}

/**
 * Records a failed attempt (an answer other than 2xx, or no answer): the next attempt after
 * `retryInMs`, but never after the delivery is `maxAgeMs` old; once it is that old, the delivery is
 * failed, and its endpoint marked failing if nothing was delivered to it during the delivery's
 * whole life. Returns whether it gave up, or undefined when the lease was lost meanwhile.
 */
export async function recordAttemptFailed(
  db: Queryable,
  delivery: Pick<ClaimedDelivery, 'deliveryId' | 'lease'>,
  attempt: { statusCode: number | null; error: string; retryInMs: number; maxAgeMs: number },
): Promise<{ gaveUp: boolean } | undefined> {
  const { rows } = await db.query<{ gaveUp: boolean }>(
    `WITH updated AS (
       UPDATE webhook_deliveries
       SET locked_until = NULL, last_status_code = $3, last_error = $4,
           failed_at = CASE WHEN now() >= created_at + make_interval(secs => $6) THEN now() END,
           next_attempt_at = least(now() + make_interval(secs => $5), created_at + make_interval(secs => $6))
       WHERE delivery_id = $1 AND locked_until = $2::timestamptz
       RETURNING endpoint_id, created_at, failed_at
     ), endpoint AS (
       UPDATE webhook_endpoints e SET failing_since = coalesce(e.failing_since, u.failed_at) FROM updated u
       WHERE e.endpoint_id = u.endpoint_id AND u.failed_at IS NOT NULL
         AND (e.last_delivered_at IS NULL OR e.last_delivered_at < u.created_at)
       RETURNING 1
     )
     SELECT failed_at IS NOT NULL AS "gaveUp" FROM updated`,
    [delivery.deliveryId, delivery.lease, attempt.statusCode, attempt.error.slice(0, 1000), attempt.retryInMs / 1000, attempt.maxAgeMs / 1000],
  );
  return rows[0];
}

/**
 * Gives claimed deliveries back without an attempt result (a notifier shutting down): due again
 * now, their attempt not counted.
 */
export async function releaseDeliveries(db: Queryable, deliveries: Pick<ClaimedDelivery, 'deliveryId' | 'lease'>[]): Promise<void> {
  if (deliveries.length === 0) return;
  await db.query(
    `UPDATE webhook_deliveries d SET locked_until = NULL, next_attempt_at = now(), attempts = d.attempts - 1
     FROM unnest($1::bigint[], $2::timestamptz[]) AS r (delivery_id, lease)
     WHERE d.delivery_id = r.delivery_id AND d.locked_until = r.lease`,
    [deliveries.map((d) => d.deliveryId), deliveries.map((d) => d.lease)],
  );
}

/** A delivery as GET …/deliveries shows it. */
export interface DeliveryRecord {
  eventId: string;
  body: string;
  attempts: number;
  createdAt: Date;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** null once delivered or failed. */
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  failedAt: Date | null;
}

/** An endpoint's deliveries, newest event first, keyset-paginated on the event id. */
export async function listDeliveries(
  db: Queryable,
  endpointId: string,
  page: { before?: string | undefined; limit: number },
): Promise<{ items: DeliveryRecord[]; next: string | undefined }> {
  const { rows } = await db.query<DeliveryRecord>(
    `SELECT event_id::text AS "eventId", body, attempts, created_at AS "createdAt", last_attempt_at AS "lastAttemptAt",
       last_status_code AS "lastStatusCode", last_error AS "lastError",
       CASE WHEN finished_at IS NULL THEN next_attempt_at END AS "nextAttemptAt",
       delivered_at AS "deliveredAt", failed_at AS "failedAt"
     FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR event_id < $2)
     ORDER BY event_id DESC LIMIT $3`,
    [endpointId, page.before ?? null, page.limit + 1],
  );
  const items = rows.slice(0, page.limit);
  return { items, next: rows.length > page.limit ? items.at(-1)?.eventId : undefined };
}
