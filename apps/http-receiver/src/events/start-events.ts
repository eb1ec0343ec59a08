import type { Pool } from '@linebacker/db';
import type { AppContext } from '@linebacker/runtime';
import { EventFeed } from './event-feed.js';
import type { EventsRouteDeps } from './events-route.js';

/** Events per statement, for the feed and for a catch-up. */
const BATCH_SIZE = 500;
/** Live events held back for a subscriber while it catches up, at most (then it is dropped and resumes later). */
const MAX_PENDING_EVENTS = 10_000;
/** The `retry:` of the stream: how long a client waits before reconnecting. */
const RETRY_MS = 2000;
/** How long a catching-up client may take to read a page before it is dropped. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * GET /api/v1/events: the receiver's one reader of the outbox (event-feed.ts) and what the route
 * needs. The feed is stopped by the API's shutdown (start-api.ts), before the HTTP server closes,
 * so open streams end at once and their clients resume on another receiver.
 */
export function startEvents(context: AppContext, deps: { pool: Pool }): Omit<EventsRouteDeps, 'isShuttingDown' | 'retryAfterSeconds'> {
  const { config, logger } = context;
  const feed = new EventFeed({
    pool: deps.pool,
    redis: config.redis,
    batchSize: BATCH_SIZE,
    pollMs: config.eventStream.pollMs,
    heartbeatMs: config.eventStream.heartbeatMs,
    logger,
  });
  return {
    pool: deps.pool,
    feed,
    limits: { maxBufferedBytes: config.eventStream.maxBufferedBytes, maxPendingEvents: MAX_PENDING_EVENTS },
    batchSize: BATCH_SIZE,
    retryMs: RETRY_MS,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  };
}
