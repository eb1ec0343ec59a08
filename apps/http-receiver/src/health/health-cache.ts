import type { Logger } from 'pino';
import type { RedisClient } from '@linebacker/queues';
import { startPeriodicTask } from '@linebacker/runtime';
import type { HealthSnapshot } from './health-schemas.js';

export interface HealthCache {
  /** The latest snapshot (at most one refresh period old), or undefined before the first one. */
  current(): HealthSnapshot | undefined;
  stop(): Promise<void>;
}

/** A shared snapshot older than this many refresh periods is its leader's last: the leader is gone. */
const STALE_AFTER_PERIODS = 3;

/**
 * /healthz is served from memory, so its cost does not grow with the number of dashboards polling
 * it (SPEC §5.4). One timer per receiver process, every `refreshMs`:
 * - the leader (the instance holding the reconciliation lock, on any host) collects the snapshot —
 *   the instance registry, BullMQ counts, Postgres counts, dependency latencies — and shares it in
 *   Redis;
 * - every other instance, on every host, reads that one key (one Redis GET a period), and collects
 *   the snapshot itself only when there is none (no leader yet, or Redis down) or when it is older
 *   than 3 periods (the leader died: until another instance takes the lock, at the next
 *   reconciliation tick, the one that answers collects for itself).
 */
export function startHealthCache(options: {
  collect: () => Promise<HealthSnapshot>;
  redis: RedisClient;
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
        const latest = await shared();
        const fresh = latest && Date.now() - Date.parse(latest.generatedAt) <= STALE_AFTER_PERIODS * options.refreshMs;
        snapshot = fresh ? latest : await options.collect();
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
