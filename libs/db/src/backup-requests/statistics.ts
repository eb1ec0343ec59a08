import { REQUEST_STATUSES, type RequestStatus } from '@linebacker/domain';
import { z } from 'zod';
import type { Queryable } from '../pool.js';

const count = z.int().min(0);

/** What /healthz shows of the requests (the receiver's health schema and /openapi.json use it). */
export const requestStatisticsSchema = z
  .object({
    byStatus: z.object(Object.fromEntries(REQUEST_STATUSES.map((status) => [status, count])) as Record<RequestStatus, typeof count>),
    oldestNonTerminalAgeSeconds: count.nullable().meta({ description: 'of the oldest Received, Allowed or Sent request' }),
  })
  .meta({ id: 'RequestStatistics' });
export type RequestStatistics = z.infer<typeof requestStatisticsSchema>;

/**
 * Request counts by status and the age of the oldest request still in the pipeline (Received,
 * Allowed or Sent).
 */
export async function requestStatistics(db: Queryable): Promise<RequestStatistics> {
  const { rows } = await db.query<{ status: RequestStatus; count: number; oldest: number | null }>(
    `SELECT status, count(*)::int AS count,
       CASE WHEN status IN ('Received', 'Allowed', 'Sent')
         THEN extract(epoch FROM now() - min(received_at))::float8 END AS oldest
     FROM backup_requests GROUP BY status`,
  );
  const byStatus = Object.fromEntries(REQUEST_STATUSES.map((status) => [status, 0])) as Record<RequestStatus, number>;
  let oldest: number | null = null;
  for (const row of rows) {
    byStatus[row.status] = row.count;
    if (row.oldest !== null) oldest = Math.max(oldest ?? 0, row.oldest);
  }
  return { byStatus, oldestNonTerminalAgeSeconds: oldest === null ? null : Math.round(oldest) };
}
