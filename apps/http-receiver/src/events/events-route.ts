import { setTimeout as sleep } from 'node:timers/promises';
import { Router } from 'express';
import { validateWith } from '@linebacker/domain';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { validationProblem } from '../api/problem.js';
import type { EventFeed } from './event-feed.js';
import { Subscriber, type SubscriberLimits } from './event-subscriber.js';
import { eventsQuerySchema, lastEventIdHeaderSchema } from './events-schemas.js';
import { compareEventIds, type OutboxAccess } from './outbox-access.js';
import { SseStream } from './sse-stream.js';

export const EVENTS_PATH = '/api/v1/events';

export interface EventsRouteDeps {
  feed: EventFeed;
  outbox: OutboxAccess;
  limits: SubscriberLimits;
  /** Events read per statement while a subscriber catches up. */
  batchSize: number;
  /** How long a client waits before reconnecting (the stream's `retry:`). */
  retryMs: number;
  /** How long a catching-up client may take to read what was written to it. */
  drainTimeoutMs: number;
}

const MAX_STALLED_READS = 100;
const STALLED_READ_WAIT_MS = 50;

/**
 * GET /api/v1/events (scope requests:read or ops:read; a browser session may follow it): the
 * caller's status events as Server-Sent Events (SPEC §8), every client's with ops:read.
 *
 * Without Last-Event-ID the subscriber joins the feed at once (live events only). With it, the
 * subscriber is registered with the feed first — every event the feed reads from then on reaches it,
 * held back — and reads the outbox after its Last-Event-ID itself until it reaches the position
 * the feed had when it was registered; it then writes what was held back and is live. Events read
 * by both are written once (by id, subscriber.ts), and both read in id order, so there is no gap
 * and no repeat however many events are written meanwhile. The catch-up waits for its client to
 * read (backpressure), so a slow resume costs only its own connection.
 */
export function eventsRoutes(deps: EventsRouteDeps): Router {
  const router = Router();
  router.get(EVENTS_PATH, requireScope('requests:read', 'ops:read'), async (req, res) => {
    const query = validateWith(eventsQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const header = validateWith(lastEventIdHeaderSchema, { 'Last-Event-ID': req.header('last-event-id') });
    if (!header.ok) throw validationProblem(header.errors, 'header');
    const resumeAfter = header.value['Last-Event-ID'] ?? query.value.lastEventId;

    const principal = principalOf(res);
    const filter = {
      requesterId: principal.scopes.has('ops:read') ? undefined : principal.clientId,
      backupRequestId: query.value.backupRequestId,
    };
    // the first subscriber starts the feed: when Postgres is down this is a 503 like any read
    await deps.feed.start();
    const stream = new SseStream(res);
    const startAfter = resumeAfter ?? deps.feed.position!;
    const subscriber = new Subscriber(stream, filter, deps.limits, startAfter, (s) => deps.feed.remove(s));
    const feedPosition = deps.feed.add(subscriber);
    res.on('close', () => subscriber.end());
    stream.open(deps.retryMs);

    let cursor = startAfter;
    let stalled = 0;
    try {
      while (compareEventIds(cursor, feedPosition) < 0 && !subscriber.isClosed) {
        const page = await deps.outbox.readAfter(cursor, deps.batchSize);
        for (const event of page.events) subscriber.writeCaughtUp(event);
        if (compareEventIds(page.next, cursor) > 0) {
          cursor = page.next;
          stalled = 0;
        } else if ((stalled += 1) > MAX_STALLED_READS) {
          // the outbox does not yet let us read as far as the feed did (it will): rather than risk a
          // gap, the client is disconnected and resumes from its last event
          throw new Error('the catch-up could not reach the live feed');
        } else {
          await sleep(STALLED_READ_WAIT_MS);
        }
        // the catch-up waits for its client to read what it wrote; one that does not is dropped
        await stream.drained(deps.limits.maxBufferedBytes, deps.drainTimeoutMs);
      }
    } catch (err) {
      subscriber.close(`its catch-up stopped: ${(err as Error).message}`);
      return;
    }
    subscriber.goLive(cursor);
  });
  return router;
}
