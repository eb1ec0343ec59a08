import type { Queue } from 'bullmq';
import type { Queryable, RequestCounts } from '@linebacker/db';
import type { MessageQueue } from '@linebacker/interface-queue';
import { queueStatistics, readCounters, type LiveInstance, type QueueStatistics, type RedisClient } from '@linebacker/queues';
import type { DependencyHealth, HealthSnapshot } from './health-schemas.js';
import { appsWithoutInstance } from './hosts.js';

export interface HealthSources {
  db: Queryable;
  /** Request counts kept up to date from the status history (one per collecting process). */
  requestCounts: Pick<RequestCounts, 'read'>;
  redis: RedisClient;
  /** The interface queues (requests, statuses, poison): their depths, and the dependency check. */
  interfaceQueues: Pick<MessageQueue, 'approximateCount' | 'name'>[];
  queues: Queue[];
  /** The instance registry (SPEC §9): every live instance of every host. */
  instances: { read(): Promise<LiveInstance[]> };
  /** Apps of the pipeline that must have a live instance on some host (from ecosystem.config.js). */
  expectedApps: string[];
  countersKey: string;
  /** This process, when it holds the leader lock (null otherwise). */
  leader: () => HealthSnapshot['leader'];
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
 * accepted); `degraded` when Redis or the interface queue is unreachable, or an app of the
 * pipeline has no live instance on any host; `ok` otherwise.
 *
 * The instance registry decides, not PM2: the PM2 this process could ask is only its own host's
 * (SPEC §9), and an app may run on any host.
 */
export function overallStatus(
  snapshot: Pick<HealthSnapshot, 'dependencies' | 'instances'>,
  expectedApps: string[],
): HealthSnapshot['status'] {
  const { postgres, redis, interfaceQueue } = snapshot.dependencies;
  if (postgres.status === 'down') return 'down';
  if (redis.status === 'down' || interfaceQueue.status === 'down') return 'degraded';
  if (appsWithoutInstance(snapshot.instances, expectedApps).length > 0) return 'degraded';
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

/**
 * Gathers what /healthz shows of the whole cluster (SPEC §5.4, §9), each source bounded and
 * independent. Nothing in it depends on the host that collects it: the PM2 of that host is not
 * part of it (each receiver adds its own host's PM2 when it answers, healthz-route.ts).
 */
export async function collectHealth(sources: HealthSources): Promise<HealthSnapshot> {
  const [postgres, redis, interfaceQueue] = await Promise.all([
    timed(() => sources.db.query('SELECT 1')),
    timed(() => sources.redis.ping()),
    timed(() => interfaceQueueDepths(sources.interfaceQueues)),
  ]);
  const requests = postgres.health.status === 'up' ? await sources.requestCounts.read(sources.db).catch(() => null) : null;
  const queues: Record<string, QueueStatistics> = {};
  let counters: Record<string, number> = {};
  let instances: LiveInstance[] = [];
  if (redis.health.status === 'up') {
    [counters, instances] = await Promise.all([
      readCounters(sources.redis, sources.countersKey).catch(() => ({})),
      sources.instances.read().catch(() => []),
    ]);
    const stats = await Promise.allSettled(sources.queues.map((queue) => queueStatistics(queue)));
    for (const [i, result] of stats.entries()) {
      if (result.status === 'fulfilled') queues[sources.queues[i]!.name] = result.value;
    }
  }
  const interfaceQueues = interfaceQueue.value ?? {};
  const partial = {
    dependencies: { postgres: postgres.health, redis: redis.health, interfaceQueue: interfaceQueue.health },
    instances,
    queues,
    interfaceQueues,
    requests,
    counters,
  };
  return {
    status: overallStatus(partial, sources.expectedApps),
    generatedAt: new Date().toISOString(),
    leader: sources.leader(),
    ...partial,
  };
}
