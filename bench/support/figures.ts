import type pg from 'pg';

export interface Completion {
  completed: number;
  completedPerSecond: number;
  endToEndMs: { p50: number; p95: number; p99: number };
  stagesMs?: Record<string, { p50: number; p99: number }>;
}

const pct = (column: string) =>
  `percentile_cont(0.5) WITHIN GROUP (ORDER BY ${column}) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ${column}) AS p95,
   percentile_cont(0.99) WITHIN GROUP (ORDER BY ${column}) AS p99`;
const ms = (to: string, from: string) => `extract(epoch FROM ${to} - ${from}) * 1000`;
const round = (row: Record<string, unknown>, key: string) => Math.round(Number(row[key] ?? 0) * 10) / 10;

/**
 * linebacker's completions in [from, to): requests that reached a terminal status in the window,
 * and the latency of those, from the database's own timestamps (received → replied, and per stage).
 */
export async function linebackerCompletion(db: pg.Pool, from: Date, to: Date): Promise<Completion> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS completed, ${pct(ms('replied_at', 'received_at'))},
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ms('checked_at', 'received_at')}) AS check50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ${ms('checked_at', 'received_at')}) AS check99,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ms('sent_at', 'checked_at')}) AS send50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ${ms('sent_at', 'checked_at')}) AS send99,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ms('replied_at', 'sent_at')}) AS reply50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ${ms('replied_at', 'sent_at')}) AS reply99
     FROM backup_requests WHERE status IN ('Succeeded', 'Failed') AND replied_at >= $1 AND replied_at < $2`,
    [from, to],
  );
  const row = rows[0] as Record<string, unknown>;
  const seconds = (to.getTime() - from.getTime()) / 1000;
  return {
    completed: Number(row.completed),
    completedPerSecond: Math.round(Number(row.completed) / seconds),
    endToEndMs: { p50: round(row, 'p50'), p95: round(row, 'p95'), p99: round(row, 'p99') },
    stagesMs: {
      'received→checked': { p50: round(row, 'check50'), p99: round(row, 'check99') },
      'checked→sent': { p50: round(row, 'send50'), p99: round(row, 'send99') },
      'sent→replied': { p50: round(row, 'reply50'), p99: round(row, 'reply99') },
    },
  };
}

/** The baseline chain's completions in [from, to): rows that passed all four stages. */
export async function baselineCompletion(db: pg.Pool, from: Date, to: Date): Promise<Completion> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS completed, ${pct(ms('updated_at', 'received_at'))}
     FROM bl_requests WHERE status = 4 AND updated_at >= $1 AND updated_at < $2`,
    [from, to],
  );
  const row = rows[0] as Record<string, unknown>;
  const seconds = (to.getTime() - from.getTime()) / 1000;
  return {
    completed: Number(row.completed),
    completedPerSecond: Math.round(Number(row.completed) / seconds),
    endToEndMs: { p50: round(row, 'p50'), p95: round(row, 'p95'), p99: round(row, 'p99') },
  };
}
