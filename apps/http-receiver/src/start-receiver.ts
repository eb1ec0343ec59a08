import type { Express } from 'express';
import { AdvisoryLeadership, openPool } from '@linebacker/db';
import {
  QUEUES,
  WakeupPublisher,
  createProducerConnection,
  eventWakeupChannel,
  createRequestQueue,
  evictionPolicyProblem,
  openCounters,
  openProducerQueue,
  waitUntilReady,
  type RequestQueue,
  type StatusReceivedJobData,
} from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { startApi } from './api/start-api.js';
import { startHealth } from './health/start-health.js';
import { startPruner } from './pruning/start-pruner.js';
import { startStatistics } from './statistics/start-statistics.js';
import { startEvents } from './events/start-events.js';
import { RECONCILIATION_LOCK_KEY, startReconciler } from './reconciliation/start-reconciler.js';

/**
 * Opens what the receiver's parts share, each with its releaser, then starts the leader duties
 * (reconciliation, pruning), the health snapshot and the API. Neither Postgres nor Redis has to be up: without Postgres the API
 * answers 503, without Redis requests are still accepted and wait in Postgres for recovery.
 */
export async function startReceiver(context: AppContext): Promise<{ port: number; app: Express }> {
  const { config, logger, onShutdown } = context;
  const pool = openPool(context, 'http-receiver');

  const redis = createProducerConnection(config.redis, 'linebacker:http-receiver');
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));
  onShutdown('redis', () => redis.disconnect());
  // status changes committed here (accepted requests, reply timeouts) wake the event readers
  const wakeups = new WakeupPublisher(redis, eventWakeupChannel(config.redis.queuePrefix));
  onShutdown('event wake-ups', () => wakeups.close());
  void waitUntilReady(redis, 5000).then(async (ready) => {
    if (!ready) return logger.warn('Redis is not reachable: accepted requests wait in Postgres until it is');
    const problem = await evictionPolicyProblem(redis);
    if (problem) logger.error(problem);
  });

  const createdQueue = createRequestQueue(QUEUES.created, redis, config.redis.queuePrefix, (err) =>
    logger.debug({ err }, 'created queue error'),
  );
  onShutdown('created queue', () => createdQueue.close());
  const allowedQueue = openProducerQueue(context, QUEUES.allowed);
  const statusReceivedQueue = openProducerQueue<StatusReceivedJobData>(context, QUEUES.statusReceived);
  // (for statistics and the queue UI, which never read job data: a Queue's type is invariant in it)
  const queues = [createdQueue, allowedQueue, statusReceivedQueue as unknown as RequestQueue];

  // The leader's lock, released after its duties have stopped (shutdown runs last-registered-first).
  // One leader for every host (SPEC §9): its duties read and write only Postgres, Redis and the
  // instance registry, never anything of the host they run on (the PM2 a receiver shows is its
  // own host's, added when it answers), so they go on unchanged wherever the lock moves.
  const leadership = new AdvisoryLeadership(
    config.database.url,
    RECONCILIATION_LOCK_KEY,
    config.database.connectTimeoutMs,
    // Postgres cuts application_name at 63 bytes
    `linebacker leader ${config.instance.hostName} pid ${process.pid}`.slice(0, 63),
  );
  onShutdown('leadership', () => leadership.release());
  const counters = openCounters(context);
  startReconciler(context, { pool, created: createdQueue, allowed: allowedQueue, statusReceived: statusReceivedQueue, counters, leadership, wakeups });
  startPruner(context, { pool, counters, leadership });
  const statistics = startStatistics(context, { pool, redis });
  const health = startHealth(context, {
    pool,
    redis,
    queues,
    isLeader: () => leadership.isLeader,
    onCollected: (snapshot) => statistics.queueDepth.record(snapshot),
  });
  const events = startEvents(context, { pool });
  return startApi(context, { pool, redis, createdQueue, queues, health, wakeups, statistics: statistics.pipeline, events });
}
