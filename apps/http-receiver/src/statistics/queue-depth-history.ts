import type { RedisClient } from '@linebacker/queues';
import type { HealthSnapshot } from '../health/health-schemas.js';
import type { QueueDepthSample } from './statistics-schemas.js';

/** The queue depths are kept for this long (the dashboard's charts show the last hour). */
export const QUEUE_DEPTH_WINDOW_MS = 3_600_000;

export interface QueueDepthHistory {
  /** Keeps a sample of this snapshot if the last one is at least a sample period old (the health leader calls it). */
  record(snapshot: HealthSnapshot): void;
  /** The samples of the last hour, oldest first; empty when Redis does not answer. */
  read(): Promise<QueueDepthSample[]>;
  readonly sampleMs: number;
}

const sampleOf = (snapshot: HealthSnapshot): QueueDepthSample => ({
  at: snapshot.generatedAt,
  queues: Object.fromEntries(
    Object.entries(snapshot.queues).map(([name, { waiting, active, delayed }]) => [name, { waiting, active, delayed }]),
  ),
  interfaceQueues: Object.fromEntries(Object.entries(snapshot.interfaceQueues).map(([name, { messages }]) => [name, messages])),
});

/**
 * Queue depths over time, for the dashboard's chart: the health leader already reads every queue's
 * counts once a second (collect-health.ts); one snapshot every `sampleMs` is pushed onto a Redis
 * list next to the shared health snapshot and the list is cut to an hour of samples, so it stays
 * bounded (360 samples of a few hundred bytes at the default 10 s) whoever leads, and any receiver
 * can read it. A new leader goes on with the same list.
 */
export function createQueueDepthHistory(redis: RedisClient, key: string, sampleMs: number): QueueDepthHistory {
  const length = Math.ceil(QUEUE_DEPTH_WINDOW_MS / sampleMs);
  let lastSampleAt = 0;
  return {
    sampleMs,
    record(snapshot) {
      const now = Date.now();
      if (now - lastSampleAt < sampleMs) return;
      lastSampleAt = now;
      void redis
        .multi()
        .lpush(key, JSON.stringify(sampleOf(snapshot)))
        .ltrim(key, 0, length - 1)
        .pexpire(key, QUEUE_DEPTH_WINDOW_MS)
        .exec()
        .catch(() => undefined);
    },
    async read() {
      const texts = await redis.lrange(key, 0, length - 1).catch(() => [] as string[]);
      const since = Date.now() - QUEUE_DEPTH_WINDOW_MS;
      return texts
        .map((text) => JSON.parse(text) as QueueDepthSample)
        .filter((sample) => Date.parse(sample.at) >= since)
        .reverse();
    },
  };
}
