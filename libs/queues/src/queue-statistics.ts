import type { Queue } from 'bullmq';
import { z } from 'zod';

const count = z.int().min(0);

/** What /healthz shows of each BullMQ queue (the receiver's health schema and /openapi.json use it). */
export const queueStatisticsSchema = z
  .object({ waiting: count, active: count, delayed: count, failed: count, completed: count, oldestWaitingAgeSeconds: count.nullable() })
  .meta({ id: 'QueueStatistics' });
export type QueueStatistics = z.infer<typeof queueStatisticsSchema>;

/** BullMQ counts of one queue, and how long its oldest waiting job has waited. */
export async function queueStatistics(queue: Queue): Promise<QueueStatistics> {
  const [counts, oldest] = await Promise.all([queue.getJobCounts(), queue.getWaiting(0, 0)]);
  const first = oldest[0];
  return {
    waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    completed: counts.completed ?? 0,
    oldestWaitingAgeSeconds: first ? Math.max(0, Math.round((Date.now() - first.timestamp) / 1000)) : null,
  };
}
