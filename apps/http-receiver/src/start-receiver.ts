import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { AdvisoryLeadership, openPool } from '@linebacker/db';
import {
  QUEUES,
  countersKey,
  createProducerConnection,
  createRequestQueue,
  evictionPolicyProblem,
  openCounters,
  openProducerQueue,
  waitUntilReady,
} from '@linebacker/queues';
import { createInterfaceQueues } from '@linebacker/interface-queue';
import { pipelineAppNames, type AppContext } from '@linebacker/runtime';
import { collectHealth } from './health/collect-health.js';
import { startHealthCache } from './health/health-cache.js';
import { createPm2Reader } from './health/pm2-processes.js';
import { closeServer, listen } from './http-server.js';
import { reconcile } from './reconcile.js';
import { startReconciliationDuty } from './reconciliation-duty.js';
import { createReceiverApp } from './receiver-app.js';

/** The advisory lock whose holder runs reconciliation (per database). */
export const RECONCILIATION_LOCK_KEY = 0x6c62_7263; // "lbrc"

/**
 * Opens what the receiver needs, each with its releaser, and starts listening. Neither Postgres nor
 * Redis has to be up: without Postgres the API answers 503, without Redis requests are still
 * accepted and wait in Postgres for recovery.
 */
export async function startReceiver(context: AppContext): Promise<{ port: number; app: Express }> {
  const { config, logger, onShutdown, isShuttingDown } = context;
  const pool = openPool(context, 'http-receiver');

  const redis = createProducerConnection(config.redis.url, 'linebacker:http-receiver');
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));
  onShutdown('redis', () => redis.disconnect());
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
  const statusReceivedQueue = openProducerQueue(context, QUEUES.statusReceived);
  const counters = openCounters(context);
  const leadership = new AdvisoryLeadership(config.database.url, RECONCILIATION_LOCK_KEY, config.database.connectTimeoutMs);
  const duty = startReconciliationDuty({
    leadership,
    pass: () =>
      reconcile({ db: pool, created: createdQueue, allowed: allowedQueue, ...config.reconciliation, log: logger, counters }),
    startupDelayMs: config.reconciliation.startupDelayMs,
    intervalMs: config.reconciliation.intervalMs,
    log: logger,
  });
  onShutdown('reconciliation', () => duty.stop());

  const pm2 = createPm2Reader(config.underPm2);
  onShutdown('pm2 connection', () => pm2.close());
  const interfaceQueues = createInterfaceQueues(config.interface);
  const health = startHealthCache({
    collect: () =>
      collectHealth({
        db: pool,
        redis,
        interfaceQueues: [interfaceQueues.requests, interfaceQueues.statuses, interfaceQueues.poison],
        queues: [createdQueue, allowedQueue, statusReceivedQueue],
        pm2,
        expectedApps: pipelineAppNames(),
        countersKey: countersKey(config.redis.queuePrefix),
      }),
    redis,
    key: `${config.redis.queuePrefix}:linebacker:health`,
    isLeader: () => leadership.isLeader,
    refreshMs: config.health.refreshMs,
    log: logger,
  });
  onShutdown('health cache', () => health.stop());

  const queues = [createdQueue, allowedQueue, statusReceivedQueue];
  const app = createReceiverApp({
    pool,
    redis,
    createdQueue,
    queues,
    health,
    logger,
    http: config.http,
    // well above a slow but working refresh (the interface queue's probe alone may take 15 s)
    admission: { ...config.admission, staleAfterMs: Math.max(60_000, 10 * config.health.refreshMs) },
    isShuttingDown,
  });
  const server = await listen(app, config.http.host, config.http.port);
  onShutdown('http server', () => closeServer(server));
  const { port } = server.address() as AddressInfo;
  logger.info({ host: config.http.host, port }, 'listening');
  return { port, app };
}
