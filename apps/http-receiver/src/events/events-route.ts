import { setTimeout as sleep } from 'node:timers/promises';
import { Router } from 'express';
import { readEventsAfter, type Pool } from '@linebacker/db';
import { validateWith } from '@linebacker/domain';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { unavailableProblem, validationProblem } from '../api/problem.js';
import type { EventFeed } from './event-feed.js';
import { Subscriber, type SubscriberLimits } from './event-subscriber.js';
import { eventsQuerySchema, lastEventIdHeaderSchema } from './events-schemas.js';
import { ClientNotReadingError, SseStream } from './sse-stream.js';

export const EVENTS_PATH = '/api/v1/events';

export interface EventsRouteDeps {
  pool: Pool;
  feed: EventFeed;
  limits: SubscriberLimits;
  /** Events read per statement while a subscriber catches up. */
  batchSize: number;
  /** How long a client waits before reconnecting (the stream's `retry:`). */
  retryMs: number;
  /** How long a catching-up client may take to read what was written to it. */
  drainTimeoutMs: number;
  isShuttingDown: () => boolean;
  retryAfterSeconds: number;
}

/** A catch-up read that finds events not final yet (a long transaction) is tried again, this often at most. */
const MAX_PENDING_READS = 30;
const PENDING_READ_WAIT_MS = 100;

/**
 * GET /api/v1/events (scope requests:read or ops:read; a browser session may follow it): the
 * caller's status events as Server-Sent Events (SPEC §8), every client's with ops:read.
 *
 * Without Last-Event-ID (or `?lastEventId=`) the subscriber joins the feed and is live at once.
 * With it, the subscriber joins the feed first — every event the feed reads from then on reaches
 * it and is held back — then reads the outbox after its Last-Event-ID itself (its own events only,
 * through the outbox's per-client index) until a page comes back short: it has then read every
 * event it may see up to the position the feed had when it joined (those were final before it
 * started reading), and usually some beyond. It writes what was held back and is live. Both the
 * catch-up and the feed read in id order and the subscriber writes an event only if its id is above
 * the last one written, so there is no gap and no repeat however many events are committed
 * meanwhile. The catch-up waits for its client to read (backpressure): a slow resume costs its own
 * connection only.
 */
export function eventsRoutes(deps: EventsRouteDeps): Router {
  const router = Router();
  router.get(EVENTS_PATH, requireScope('requests:read', 'ops:read'), async (req, res) => {
    const query = validateWith(eventsQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const header = validateWith(lastEventIdHeaderSchema, { 'Last-Event-ID': req.header('last-event-id') });
    if (!header.ok) throw validationProblem(header.errors, 'header');
    const resumeAfter = header.value['Last-Event-ID'] ?? query.value.lastEventId;

    if (deps.isShuttingDown()) {
      throw unavailableProblem('dependency-unavailable', 'this receiver is shutting down: connect again (another receiver answers)', deps.retryAfterSeconds);
    }
    if (req.method === 'HEAD') {
      // (Express answers HEAD with the GET route: the headers, and no stream left open)
      res.status(200).type('text/event-stream').end();
      return;
    }
    const principal = principalOf(res);
    const filter = {
      requesterId: principal.scopes.has('ops:read') ? undefined : principal.clientId,
      backupRequestId: query.value.backupRequestId,
    };
    const stream = new SseStream(res);
    let gone = false;
    const subscriber = new Subscriber(stream, filter, deps.limits, resumeAfter, (s, reason) => deps.feed.leave(s, reason));
    res.on('close', () => {
      gone = true;
      subscriber.end('client');
    });
    // when Postgres cannot be read this is a 503, like any read, before anything is sent
    const feedPosition = await deps.feed.join(subscriber);
    if (gone) return deps.feed.leave(subscriber, 'client');
    stream.open(deps.retryMs);
    if (resumeAfter === undefined) return subscriber.goLive(feedPosition);

    try {
      for (let cursor = resumeAfter, pendingReads = 0; !subscriber.isEnded; ) {
        const read = await readEventsAfter(deps.pool, { afterId: cursor, limit: deps.batchSize, ...filter });
        if (read.pending) {
          if ((pendingReads += 1) > MAX_PENDING_READS) throw new Error('events below the live feed are not final yet');
          await sleep(PENDING_READ_WAIT_MS);
          continue;
        }
        for (const event of read.events) subscriber.writeCaughtUp(event);
        if (!read.more) break;
        cursor = read.resumeAfter;
        await stream.drained(deps.limits.maxBufferedBytes, deps.drainTimeoutMs);
      }
    } catch (err) {
      // the client does not read, or Postgres went away: it resumes from its last event later
      subscriber.disconnect(err instanceof ClientNotReadingError ? 'slow' : 'catch-up-failed');
      return;
    }
    subscriber.goLive(feedPosition);
  });
  return router;
}
