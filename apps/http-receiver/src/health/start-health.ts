import { createInterfaceQueues } from '@linebacker/interface-queue';
import { RequestCounts, type Queryable } from '@linebacker/db';
import { countersKey, type Redis, type RequestQueue } from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { collectHealth } from './collect-health.js';
import { startHealthCache, type HealthCache } from './health-cache.js';
import type { HealthSnapshot } from './health-schemas.js';
import { createPm2Reader } from './pm2-processes.js';

export interface HealthDeps {
  pool: Queryable;
  redis: Redis;
  /** Every BullMQ queue of the pipeline. */
  queues: RequestQueue[];
  /** Whether this process collects the snapshot for every receiver (the reconciliation leader). */
  isLeader: () => boolean;
  /** Given each snapshot this process collects as the leader. */
  onCollected?: (snapshot: HealthSnapshot) => void;
}

/** The /healthz snapshot, refreshed about every `LINEBACKER_HEALTH_REFRESH_MS` (health-cache.ts). */
export function startHealth(context: AppContext, deps: HealthDeps): HealthCache {
  const { config, logger, onShutdown } = context;
  const pm2 = createPm2Reader(config.underPm2);
  onShutdown('pm2 connection', () => pm2.close());
  const interfaceQueues = createInterfaceQueues(config.interface);
  const requestCounts = new RequestCounts();
  const health = startHealthCache({
    collect: () =>
      collectHealth({
        db: deps.pool,
        requestCounts,
        redis: deps.redis,
        interfaceQueues: [interfaceQueues.requests, interfaceQueues.statuses, interfaceQueues.poison],
        queues: deps.queues,
        pm2,
        expectedApps: config.health.expectedApps,
        countersKey: countersKey(config.redis.queuePrefix),
      }),
    redis: deps.redis,
    key: `${config.redis.queuePrefix}:linebacker:health`,
    isLeader: deps.isLeader,
    onCollected: deps.onCollected,
    refreshMs: config.health.refreshMs,
    log: logger,
  });
  onShutdown('health cache', () => health.stop());
  return health;
}
