import type { Queue } from 'bullmq';

export interface QueueStatistics {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  oldestWaitingAgeSeconds: number | null;
}

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
