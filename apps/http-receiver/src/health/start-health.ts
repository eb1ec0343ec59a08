import { createInterfaceQueues } from '@linebacker/interface-queue';
import { RequestCounts, type Queryable } from '@linebacker/db';
import { countersKey, readInstances, type RedisClient, type RequestQueue } from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { collectHealth } from './collect-health.js';
import { startHealthCache, type HealthCache } from './health-cache.js';
import type { HealthSnapshot, Pm2Section } from './health-schemas.js';
import { createPm2Reader } from './pm2-processes.js';

export interface HealthDeps {
  pool: Queryable;
  redis: RedisClient;
  /** Every BullMQ queue of the pipeline. */
  queues: RequestQueue[];
  /** Whether this process collects the snapshot for every receiver (the reconciliation leader). */
  isLeader: () => boolean;
  /** Given each snapshot this process collects as the leader. */
  onCollected?: (snapshot: HealthSnapshot) => void;
}

export interface Health extends HealthCache {
  /** The PM2 of this host (SPEC §9: /healthz shows the PM2 of the host that answered), read at most once a refresh period. */
  localPm2(): Promise<Pm2Section>;
}

/** The /healthz snapshot, refreshed about every `LINEBACKER_HEALTH_REFRESH_MS` (health-cache.ts). */
export function startHealth(context: AppContext, deps: HealthDeps): Health {
  const { config, logger, onShutdown } = context;
  const pm2 = createPm2Reader(config.underPm2, config.health.refreshMs);
  onShutdown('pm2 connection', () => pm2.close());
  const interfaceQueues = createInterfaceQueues(config.interface);
  const requestCounts = new RequestCounts();
  const prefix = config.redis.queuePrefix;
  const health = startHealthCache({
    collect: () =>
      collectHealth({
        db: deps.pool,
        requestCounts,
        redis: deps.redis,
        interfaceQueues: [interfaceQueues.requests, interfaceQueues.statuses, interfaceQueues.poison],
        queues: deps.queues,
        instances: { read: () => readInstances(deps.redis, prefix) },
        expectedApps: config.health.expectedApps,
        countersKey: countersKey(prefix),
        leader: () => (deps.isLeader() ? { host: config.instance.hostName, pid: process.pid } : null),
      }),
    redis: deps.redis,
    key: `${prefix}:linebacker:health`,
    isLeader: deps.isLeader,
    onCollected: deps.onCollected,
    refreshMs: config.health.refreshMs,
    log: logger,
  });
  onShutdown('health cache', () => health.stop());
  return { ...health, localPm2: () => pm2.read() };
}
