import type { Pool } from '../pool.js';
import { withTransaction } from '../transaction.js';

/** The stages of a request whose duration the operator dashboard charts (README "Dashboard"). */
export const STAGES = ['check', 'send', 'reply', 'total'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageLatency {
  /** Requests that finished the stage within the minute. */
  count: number;
  p50Ms: number;
  p95Ms: number;
}

/** What happened in one minute, from the status history. */
export interface MinuteStatistics {
  /** Start of the minute (UTC, ISO 8601). */
  minute: string;
  /** Requests accepted (status Received). */
  received: number;
  /** Arrivals at an outcome: a late success after Failed counts as a Succeeded too. */
  succeeded: number;
  failed: number;
  notAllowed: number;
  /** Per stage, over the requests that finished it within the minute; a stage none finished is absent. */
  latency: Partial<Record<Stage, StageLatency>>;
}

/**
 * How far a probe of the binary search looks above its id: the BRIN index on id reads whole page
 * ranges (8 pages, several hundred rows), so one probe costs one or two ranges.
 */
const PROBE_IDS = 256;

/*
 * The status history has no index on `at`: a BRIN index on id (ids grow with time) and the primary
 * key (backup_request_id, id). So the statement first finds, by a binary search over ids whose
 * probes read the BRIN index (about 20 probes of one page range each), the first id whose rows are
 * not older than `$1`, then reads only the rows from there on: its cost follows the rows in the
 * window, never the size of the table. A row's `at` is the start of its transaction and its id is
 * taken later, when the row is written, so `at` grows with id except for rows of long
 * transactions, which are older than their neighbours: a probe judges a run of ids by its newest
 * row (max), which such rows cannot pull back, and callers ask for a bound a minute before the
 * window they want (`$2` filters exactly), which covers transactions shorter than that. A probe
 * that finds no row (a gap in the ids, or ids not committed yet) moves the search down, so the
 * bound can only be too low (more rows read), never too high (rows missed).
 *
 * Stage durations come from the request row's own timestamps (received_at, checked_at, sent_at;
 * each set once, in the transaction of its change, so equal to that history row's `at`), read by
 * primary key for each change in the window: a stage that began before the window is still
 * measured from its real start. LIMIT 1 keeps the lookup a per-row index probe (as a join the
 * planner chose to hash the whole requests table).
 */
const MINUTE_STATISTICS = `
WITH RECURSIVE search (lo, hi) AS (
  SELECT 1::bigint, (SELECT last_value FROM backup_request_status_history_id_seq)
  UNION ALL
  SELECT CASE WHEN p.at < $1 THEN m.mid + 1 ELSE s.lo END, CASE WHEN p.at < $1 THEN s.hi ELSE m.mid END
  FROM search s
  CROSS JOIN LATERAL (SELECT (s.lo + s.hi) / 2 AS mid) m
  CROSS JOIN LATERAL (
    SELECT max(h.at) AS at FROM backup_request_status_history h WHERE h.id >= m.mid AND h.id < m.mid + ${PROBE_IDS}
  ) p
  WHERE s.lo < s.hi
),
changes AS (
  SELECT h.backup_request_id, h.at, h.status, h.previous_status, date_bin('1 minute', h.at, 'epoch') AS minute
  FROM backup_request_status_history h
  WHERE h.id >= (SELECT max(lo) FROM search) AND h.at >= $2 AND h.at < $3
),
timed AS (
  SELECT c.minute, s.stage, extract(epoch FROM c.at - s.since) * 1000 AS ms
  FROM changes c
  CROSS JOIN LATERAL (
    SELECT r.received_at, r.checked_at, r.sent_at FROM backup_requests r WHERE r.backup_request_id = c.backup_request_id LIMIT 1
  ) r
  CROSS JOIN LATERAL (VALUES
    ('check', CASE WHEN c.previous_status = 'Received' AND c.status IN ('Allowed', 'NotAllowed') THEN r.received_at END),
    ('send', CASE WHEN c.previous_status = 'Allowed' AND c.status = 'Sent' THEN r.checked_at END),
    ('reply', CASE WHEN c.previous_status = 'Sent' AND c.status IN ('Succeeded', 'Failed') THEN r.sent_at END),
    ('total', CASE WHEN c.status IN ('Succeeded', 'Failed', 'NotAllowed') AND c.previous_status <> 'Failed' THEN r.received_at END)
  ) AS s (stage, since)
  WHERE c.previous_status IS NOT NULL AND s.since IS NOT NULL
)
SELECT
  (SELECT coalesce(json_agg(o), '[]') FROM (
     SELECT minute, status, count(*)::int AS n FROM changes
     WHERE status IN ('Received', 'Succeeded', 'Failed', 'NotAllowed') GROUP BY minute, status
  ) o) AS outcomes,
  (SELECT coalesce(json_agg(l), '[]') FROM (
     SELECT minute, stage, count(*)::int AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
     FROM timed GROUP BY minute, stage
  ) l) AS latencies`;

const OUTCOME_FIELD = { Received: 'received', Succeeded: 'succeeded', Failed: 'failed', NotAllowed: 'notAllowed' } as const;
type OutcomeStatus = keyof typeof OUTCOME_FIELD;

const round = (ms: number) => Math.round(ms * 10) / 10;

/** How much earlier than the window the id bound is searched for (see MINUTE_STATISTICS). */
const BOUND_MARGIN_MS = 60_000;

/**
 * Per-minute counts and stage latencies (p50/p95) of the status changes with `at` in
 * [from, to), oldest minute first; minutes without a change are absent. `from` and `to` should be
 * whole minutes. One statement (one snapshot), run with JIT and parallel workers off: the binary
 * search's estimated cost is far above its real one, and JIT compiling alone took longer than the
 * statement (measured: 40 ms of 75).
 */
export async function readMinuteStatistics(pool: Pool, from: Date, to: Date): Promise<MinuteStatistics[]> {
  const { rows } = await withTransaction(pool, async (client) => {
    await client.query(`SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0`);
    return client.query<{
      outcomes: { minute: string; status: OutcomeStatus; n: number }[];
      latencies: { minute: string; stage: Stage; n: number; p50: number; p95: number }[];
    }>(MINUTE_STATISTICS, [new Date(from.getTime() - BOUND_MARGIN_MS), from, to]);
  });
  const minutes = new Map<number, MinuteStatistics>();
  const minuteOf = (text: string): MinuteStatistics => {
    const at = Date.parse(text);
    let entry = minutes.get(at);
    if (!entry) {
      entry = { minute: new Date(at).toISOString(), received: 0, succeeded: 0, failed: 0, notAllowed: 0, latency: {} };
      minutes.set(at, entry);
    }
    return entry;
  };
  const { outcomes, latencies } = rows[0]!;
  for (const { minute, status, n } of outcomes) minuteOf(minute)[OUTCOME_FIELD[status]] = n;
  for (const { minute, stage, n, p50, p95 } of latencies) minuteOf(minute).latency[stage] = { count: n, p50Ms: round(p50), p95Ms: round(p95) };
  return [...minutes.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
}
