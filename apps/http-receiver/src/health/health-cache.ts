import type { Logger } from 'pino';
import type { Redis } from '@linebacker/queues';
import { startPeriodicTask } from '@linebacker/runtime';
import type { HealthSnapshot } from './health-schemas.js';

export interface HealthCache {
  /** The latest snapshot (at most one refresh period old), or undefined before the first one. */
  current(): HealthSnapshot | undefined;
  stop(): Promise<void>;
}

/**
 * /healthz is served from memory, so its cost does not grow with the number of dashboards polling
 * it (SPEC §5.4). One timer per receiver process, every `refreshMs`:
 * - the leader (the instance holding the reconciliation lock) collects the snapshot — PM2, BullMQ
 *   counts, Postgres counts, dependency latencies — and shares it in Redis;
 * - every other instance reads that one key (one Redis GET a period), and collects the snapshot
 *   itself only when there is none (no leader yet, or Redis down).
 */
export function startHealthCache(options: {
  collect: () => Promise<HealthSnapshot>;
  redis: Redis;
  key: string;
  isLeader: () => boolean;
  refreshMs: number;
  log: Logger;
  /** Called with each snapshot this process collected as the leader (the queue-depth samples). */
  onCollected?: (snapshot: HealthSnapshot) => void;
}): HealthCache {
  let snapshot: HealthSnapshot | undefined;

  const shared = async (): Promise<HealthSnapshot | undefined> => {
    const text = await options.redis.get(options.key).catch(() => null);
    return text ? (JSON.parse(text) as HealthSnapshot) : undefined;
  };

  const refresh = async () => {
    try {
      if (!options.isLeader()) {
        snapshot = (await shared()) ?? (await options.collect());
        return;
      }
      snapshot = await options.collect();
      options.onCollected?.(snapshot);
      await options.redis.set(options.key, JSON.stringify(snapshot), 'PX', options.refreshMs * 5).catch(() => undefined);
    } catch (err) {
      options.log.warn({ err }, 'could not refresh the health snapshot');
    }
  };
  const task = startPeriodicTask({ firstDelayMs: 0, intervalMs: options.refreshMs, run: refresh });
  return { current: () => snapshot, stop: () => task.stop() };
}
