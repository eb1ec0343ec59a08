import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Config } from '@linebacker/config';
import type { Pool } from '@linebacker/db';
import type { RedisClient, RequestQueue, WakeupPublisher } from '@linebacker/queues';
import type { WorkInProgress } from '@linebacker/runtime';
import { decideAdmission, type AdmissionLimits } from './admission.js';
import { refuseWhenOverloaded } from './admission-middleware.js';
import { DrainCapacity } from './drain-capacity.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { requireToken } from '../auth/auth-middleware.js';
import { FailedAuthLimit } from '../auth/failed-auth-limit.js';
import { backupJobsRoutes } from './backup-jobs-routes.js';
import { backupRequestsRoutes } from './backup-requests-routes.js';
import { webhookEndpointsRoutes } from './webhook-endpoints-routes.js';
import { browserSessionRoutes, redirectBrowsersToSignIn } from '../auth/browser-session.js';
import { DASHBOARD_STYLESHEET, dashboardRoutes } from '../operator/dashboard-routes.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import type { HealthSnapshot } from '../health/health-schemas.js';
import type { Health } from '../health/start-health.js';
import { healthzRoutes } from '../health/healthz-route.js';
import { createMetrics } from '../health/metrics.js';
import { openApiRoutes } from '../operator/openapi.js';
import { probeRoutes } from '../health/probes.js';
import { QUEUE_BOARD_PATH, queueBoard } from '../operator/queue-board.js';
import { rateLimitPerClient } from '../auth/rate-limit.js';
import { traceId } from './trace-id.js';
import { securityHeaders } from './security-headers.js';
import type { PipelineStatistics } from '../statistics/pipeline-statistics.js';
import { statisticsRoutes } from '../statistics/statistics-routes.js';
import { eventsRoutes, type EventsRouteDeps } from '../events/events-route.js';

export interface ReceiverDeps {
  pool: Pool;
  redis: RedisClient;
  createdQueue: RequestQueue;
  /** Event wake-ups, published when a request is accepted (its Received event). */
  wakeups: Pick<WakeupPublisher, 'notify'>;
  /** Every BullMQ queue of the pipeline (created, allowed, status-received), for the queue UI. */
  queues: readonly RequestQueue[];
  health: Pick<Health, 'current' | 'localPm2'>;
  /** The operator dashboard's charts (GET /api/v1/ops/statistics). */
  statistics: PipelineStatistics;
  /** GET /api/v1/events: the outbox's reader in this process and the stream's limits. */
  events: Omit<EventsRouteDeps, 'isShuttingDown' | 'retryAfterSeconds'>;
  logger: Logger;
  /** LINEBACKER_HOST_NAME, for the labels of this host's PM2 metrics. */
  hostName: string;
  http: Config['http'];
  webhooks: Config['webhooks'];
  admission: AdmissionLimits;
  isShuttingDown: () => boolean;
  /** Requests being answered: this instance's activeJobs in the instance registry. */
  work: WorkInProgress;
}

/**
 * The http-receiver's routes. Order matters: probes and the browser sign-in answer without a token;
 * everything else (including unknown paths) needs one (or the sign-in cookie), then is rate limited
 * per client, then routed.
 */
export function createReceiverApp(deps: ReceiverDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders);
  // which proxy's X-Forwarded-For/-Proto/-Host to believe: req.ip (limits per address), req.secure
  // (the __Host- session cookie) and req.protocol/req.host (the Origin check) depend on it
  app.set('trust proxy', deps.http.trustProxy);

  app.use((_req, res, next) => {
    // requests being answered, until the response is sent or its connection drops
    res.once('close', deps.work.begin());
    next();
  });
  app.use((_req, res, next) => {
    // while shutting down, no connection is kept alive for another request: the client sends its
    // next one on a new connection, which reaches a receiver that is not stopping (the one PM2
    // started for a reload). Idle connections are never closed under a client (http-server.ts).
    if (deps.isShuttingDown()) res.setHeader('Connection', 'close');
    next();
  });
  const metrics = createMetrics(deps.health, deps.hostName, deps.events.feed);
  app.use(metrics.observeHttp);
  app.use(traceId);
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (_req, res) => (res as express.Response).locals.traceId as string,
      // the trace id as a top-level field, like every other log line about the request
      customProps: (_req, res) => ({ traceId: (res as express.Response).locals.traceId as unknown }),
      // a line per answered request is debug, like the pipeline steps' lines: at info only what
      // needs attention is logged (every request is in Postgres with its history and trace id)
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
    }),
  );
  app.use(probeRoutes({ db: deps.pool, redis: deps.redis, isShuttingDown: deps.isShuttingDown, timeoutMs: 1000 }));

  const authenticator = createAuthenticator(deps.pool, {
    jwt: deps.http.jwt,
    cacheMs: deps.http.authCacheMs,
    sessionIdleMs: deps.http.session.idleMs,
    onLookup: metrics.countCredentialLookup,
  });
  const failedAuth = new FailedAuthLimit(deps.http.authFailuresPerMinute, metrics.countAuthThrottled);
  app.use(
    browserSessionRoutes({ db: deps.pool, authenticator, failedAuth, lifetime: deps.http.session, stylesheet: DASHBOARD_STYLESHEET }),
  );
  app.use(requireToken(authenticator, failedAuth));
  app.use(redirectBrowsersToSignIn);
  app.use(rateLimitPerClient(deps.http.rateLimitPerMinute));
  const drainCapacity = new DrainCapacity(deps.admission.minBacklog);
  const admissionOf = (snapshot: HealthSnapshot | undefined) => {
    drainCapacity.observe(snapshot);
    return decideAdmission(snapshot, deps.admission, Date.now(), drainCapacity.perSecond());
  };
  app.use(healthzRoutes(deps.health, admissionOf));
  app.use(metrics.router);
  app.use(openApiRoutes());
  app.use(
    '/api/v1/backup-requests',
    backupRequestsRoutes({
      pool: deps.pool,
      redis: deps.redis,
      createdQueue: deps.createdQueue,
      wakeups: deps.wakeups,
      enqueueTimeoutMs: deps.http.enqueueTimeoutMs,
      logger: deps.logger,
      admissionControl: refuseWhenOverloaded({
        admission: () => admissionOf(deps.health.current()),
        retryAfterSeconds: deps.http.retryAfterSeconds,
        onRefused: metrics.countRefusedOverload,
      }),
    }),
  );
  app.use('/api/v1/backup-jobs', backupJobsRoutes(deps.pool));
  app.use('/api/v1/webhook-endpoints', webhookEndpointsRoutes({ db: deps.pool, webhooks: deps.webhooks }));
  app.use(statisticsRoutes(deps.statistics));
  app.use(eventsRoutes({ ...deps.events, isShuttingDown: deps.isShuttingDown, retryAfterSeconds: deps.http.retryAfterSeconds }));
  app.use('/dashboard', dashboardRoutes());
  app.use(QUEUE_BOARD_PATH, queueBoard(deps.queues));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, deps.http.retryAfterSeconds));
  return app;
}
