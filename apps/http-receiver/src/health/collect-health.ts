import type { Queue } from 'bullmq';
import type { Queryable, RequestCounts } from '@linebacker/db';
import type { MessageQueue } from '@linebacker/interface-queue';
import { queueStatistics, readCounters, type QueueStatistics, type RedisClient } from '@linebacker/queues';
import type { DependencyHealth, HealthSnapshot, Pm2Section } from './health-schemas.js';

export interface HealthSources {
  db: Queryable;
  /** Request counts kept up to date from the status history (one per collecting process). */
  requestCounts: Pick<RequestCounts, 'read'>;
  redis: RedisClient;
  /** The interface queues (requests, statuses, poison): their depths, and the dependency check. */
  interfaceQueues: Pick<MessageQueue, 'approximateCount' | 'name'>[];
  queues: Queue[];
  pm2: { read(): Promise<Pm2Section> };
  /** PM2 apps that must have an instance online (from ecosystem.config.js). */
  expectedApps: string[];
  countersKey: string;
}

async function timed<T>(probe: () => Promise<T>): Promise<{ health: DependencyHealth; value?: T }> {
  const started = performance.now();
  try {
    const value = await probe();
    return { health: { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 }, value };
  } catch (err) {
    return { health: { status: 'down', latencyMs: null, error: (err as Error).message } };
  }
}

/**
 * The `status` rule (README "Operating it"): `down` when Postgres is unreachable (nothing can be
 * accepted); `degraded` when Redis or the interface queue is unreachable, or an expected PM2 app
 * has no instance online; `ok` otherwise.
 */
export function overallStatus(
  snapshot: Pick<HealthSnapshot, 'dependencies' | 'pm2'>,
  expectedApps: string[],
): HealthSnapshot['status'] {
  const { postgres, redis, interfaceQueue } = snapshot.dependencies;
  if (postgres.status === 'down') return 'down';
  if (redis.status === 'down' || interfaceQueue.status === 'down') return 'degraded';
  if (snapshot.pm2.available) {
    const online = new Map(snapshot.pm2.apps.map((app) => [app.name, app.online]));
    if (expectedApps.some((name) => !online.get(name))) return 'degraded';
  }
  return 'ok';
}

/**
 * The depth of each interface queue that answers. The queue service counts as down only when none
 * answers: a queue not created yet (its app has not started) is not an outage.
 */
async function interfaceQueueDepths(queues: HealthSources['interfaceQueues']): Promise<HealthSnapshot['interfaceQueues']> {
  const counts = await Promise.allSettled(queues.map((queue) => queue.approximateCount()));
  const depths: HealthSnapshot['interfaceQueues'] = {};
  for (const [i, count] of counts.entries()) if (count.status === 'fulfilled') depths[queues[i]!.name] = { messages: count.value };
  const failure = counts.find((count) => count.status === 'rejected');
  if (failure && Object.keys(depths).length === 0) throw failure.reason;
  return depths;
}

/** Gathers everything /healthz shows (SPEC §5.4), each source bounded and independent. */
export async function collectHealth(sources: HealthSources): Promise<HealthSnapshot> {
  const [postgres, redis, interfaceQueue, pm2] = await Promise.all([
    timed(() => sources.db.query('SELECT 1')),
    timed(() => sources.redis.ping()),
    timed(() => interfaceQueueDepths(sources.interfaceQueues)),
    sources.pm2.read(),
  ]);
  const requests = postgres.health.status === 'up' ? await sources.requestCounts.read(sources.db).catch(() => null) : null;
  const queues: Record<string, QueueStatistics> = {};
  let counters: Record<string, number> = {};
  if (redis.health.status === 'up') {
    counters = await readCounters(sources.redis, sources.countersKey).catch(() => ({}));
    const stats = await Promise.allSettled(sources.queues.map((queue) => queueStatistics(queue)));
    for (const [i, result] of stats.entries()) {
      if (result.status === 'fulfilled') queues[sources.queues[i]!.name] = result.value;
    }
  }
  const interfaceQueues = interfaceQueue.value ?? {};
  const partial = {
    dependencies: { postgres: postgres.health, redis: redis.health, interfaceQueue: interfaceQueue.health },
    pm2,
    queues,
    interfaceQueues,
    requests,
    counters,
  };
  return { status: overallStatus(partial, sources.expectedApps), generatedAt: new Date().toISOString(), ...partial };
}
