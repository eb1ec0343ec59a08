import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventFeed } from './event-feed.js';

/**
 * This process's event streams in /metrics, read from the feed at scrape time:
 * `linebacker_event_stream_subscribers` (open streams) and
 * `linebacker_event_stream_disconnects_total{reason}` (streams the receiver ended: `slow`, a client
 * that did not read; `catch-up-failed`, Postgres failed during a resume; `shutdown`).
 */
export function registerEventStreamMetrics(registry: Registry, feed: Pick<EventFeed, 'subscriberCount' | 'disconnectCounts'>): void {
  new Gauge({
    name: 'linebacker_event_stream_subscribers',
    help: 'open GET /api/v1/events streams of this process',
    registers: [registry],
    collect() {
      this.set(feed.subscriberCount);
    },
  });
  new Counter({
    name: 'linebacker_event_stream_disconnects_total',
    help: 'event streams this process ended, by reason (slow: the client did not read; catch-up-failed; shutdown)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of feed.disconnectCounts()) this.inc({ reason }, count);
    },
  });
}
