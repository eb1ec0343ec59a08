import type { Pool } from '@linebacker/db';
import type { RedisClient } from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { createPipelineStatistics, type PipelineStatistics } from './pipeline-statistics.js';
import { createQueueDepthHistory, type QueueDepthHistory } from './queue-depth-history.js';

/** The dashboard's statistics: queue-depth samples (fed by the health leader) and the per-minute history. */
export function startStatistics(context: AppContext, deps: { pool: Pool; redis: RedisClient }): { queueDepth: QueueDepthHistory; pipeline: PipelineStatistics } {
  const { config } = context;
  const keyPrefix = `${config.redis.queuePrefix}:linebacker`;
  const queueDepth = createQueueDepthHistory(deps.redis, `${keyPrefix}:queue-depth`, config.statistics.queueDepthSampleMs);
  const pipeline = createPipelineStatistics({
    pool: deps.pool,
    redis: deps.redis,
    key: `${keyPrefix}:statistics`,
    refreshMs: config.statistics.refreshMs,
    queueDepth,
  });
  return { queueDepth, pipeline };
}
