import type pg from 'pg';

/** Where a system keeps its requests, and which columns date each stage. */
export interface RequestTable {
  table: string;
  /** A terminal row (the end of the pipeline). */
  terminal: string;
  received: string;
  checked: string;
  sent: string;
  replied: string;
}

export const LINEBACKER_TABLE: RequestTable = {
  table: 'backup_requests',
  terminal: `status IN ('Succeeded', 'Failed', 'NotAllowed')`,
  received: 'received_at',
  checked: 'checked_at',
  sent: 'sent_at',
  replied: 'replied_at',
};

export const BASELINE_TABLE: RequestTable = {
  table: 'bl_requests',
  terminal: 'status = 3',
  received: 'received_at',
  checked: 'checked_at',
  sent: 'sent_at',
  replied: 'replied_at',
};

export interface Completion {
  /** Requests that reached the end of the pipeline in the window. */
  completed: number;
  completedPerSecond: number;
  /**
   * Latency from accept to the end, of the requests accepted in the window; one still open after
   * the drain counts as infinitely late (reported as null when a percentile falls on one).
   */
  endToEndMs: { p50: number | null; p99: number | null };
  /** Accepted in the window and still open after the drain. */
  open: number;
  stagesMs: Record<string, { p50: number | null; p99: number | null }>;
  /** e2e p99 of the requests accepted in each 5-second bucket of the window: where the tail sits in time. */
  p99By5s: (number | null)[];
}

const percentile = (sorted: number[], p: number): number | null => {
  if (sorted.length === 0) return 0;
  const value = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  return Number.isFinite(value) ? Math.round(value) : null;
};
const pair = (values: number[]) => {
  const sorted = values.sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
};

/** Figures of one window [from, to) from the database's own timestamps (call it after the drain). */
export async function completion(db: pg.Pool, t: RequestTable, from: Date, to: Date): Promise<Completion> {
  const done = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${t.table} WHERE ${t.terminal} AND ${t.replied} >= $1 AND ${t.replied} < $2`,
    [from, to],
  );
  const ms = (later: string, earlier: string) => `extract(epoch FROM ${later} - ${earlier}) * 1000`;
  const { rows } = await db.query<{ bucket: number; e2e: number | null; check: number | null; send: number | null; reply: number | null }>(
    `SELECT floor(extract(epoch FROM ${t.received} - $1::timestamptz) / 5)::int AS bucket,
            CASE WHEN ${t.terminal} THEN ${ms(t.replied, t.received)} END AS e2e,
            ${ms(t.checked, t.received)} AS "check", ${ms(t.sent, t.checked)} AS send, ${ms(t.replied, t.sent)} AS reply
     FROM ${t.table} WHERE ${t.received} >= $1 AND ${t.received} < $2`,
    [from, to],
  );
  const known = (values: (number | null)[]) => values.filter((v): v is number => v !== null).map(Number);
  const seconds = (to.getTime() - from.getTime()) / 1000;
  const e2eOf = (row: { e2e: number | null }) => (row.e2e === null ? Infinity : Number(row.e2e));
  const buckets: number[][] = Array.from({ length: Math.ceil(seconds / 5) }, () => []);
  for (const row of rows) buckets[row.bucket]?.push(e2eOf(row));
  return {
    completed: done.rows[0]!.n,
    completedPerSecond: Math.round(done.rows[0]!.n / seconds),
    endToEndMs: pair(rows.map(e2eOf)),
    open: rows.filter((row) => row.e2e === null).length,
    stagesMs: {
      'received→checked': pair(known(rows.map((row) => row.check))),
      'checked→sent': pair(known(rows.map((row) => row.send))),
      'sent→replied': pair(known(rows.map((row) => row.reply))),
    },
    p99By5s: buckets.map((bucket) => pair(bucket).p99),
  };
}

/** Requests not yet at the end of the pipeline. */
export async function openRequests(db: pg.Pool, t: RequestTable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.table} WHERE NOT (${t.terminal})`);
  return rows[0]!.n;
}

/** Requests at the end of the pipeline so far. */
export async function finishedRequests(db: pg.Pool, t: RequestTable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.table} WHERE ${t.terminal}`);
  return rows[0]!.n;
}

/** Completions per `bucketS`-second bucket from `from` on (for the overload run's recovery). */
export async function completionsOverTime(db: pg.Pool, t: RequestTable, from: Date, bucketS: number): Promise<number[]> {
  const { rows } = await db.query<{ bucket: number; n: number }>(
    `SELECT floor(extract(epoch FROM ${t.replied} - $1::timestamptz) / $2)::int AS bucket, count(*)::int AS n
     FROM ${t.table} WHERE ${t.terminal} AND ${t.replied} >= $1 GROUP BY 1 ORDER BY 1`,
    [from, bucketS],
  );
  const buckets: number[] = [];
  for (const row of rows) buckets[row.bucket] = row.n;
  return Array.from(buckets, (n) => (n ?? 0) / bucketS);
}
