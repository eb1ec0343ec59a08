import type { Logger } from 'pino';
import {
  endpointsOfClients,
  fanOutDeliveries,
  readEventsAfter,
  readFanOutHorizon,
  readFanOutPosition,
  type NewDelivery,
  type Queryable,
} from '@linebacker/db';
import { formatEventId, parseEventId, type StatusEvent } from '@linebacker/domain';
import type { PipelineCounters } from '@linebacker/queues';

export interface FanOutDeps {
  db: Queryable;
  /** Events per pass. */
  pageSize: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
  /** How long the position may stay unsaved while passes create no delivery (default 5 s). */
  saveEveryMs?: number;
}

type Endpoint = Awaited<ReturnType<typeof endpointsOfClients>>[number];

/**
 * Whether `endpoint` gets `event`: the requester's own endpoints, for the statuses they asked for,
 * and only events of changes made once the endpoint existed (a new endpoint is not sent the past).
 */
const wants = (endpoint: Endpoint, event: StatusEvent): boolean =>
  endpoint.clientId === event.requesterId &&
  (endpoint.statuses === null || endpoint.statuses.includes(event.status)) &&
  Date.parse(event.at) >= endpoint.createdAt.getTime();

/**
 * The fan-out (SPEC §8): turns the final events after its position in the outbox (libs/db
 * readEventsAfter) into one delivery per matching endpoint and event. The deliveries are inserted
 * in the same statement that moves the saved position past their events (fanOutDeliveries), so a
 * notifier that dies at any moment did both or neither, and the next pass, here or in another
 * notifier, does them again (inserting a delivery twice changes nothing).
 *
 * Events that make no delivery (most of them, when few clients have endpoints) do not need their
 * own write: the position is then only kept in memory and saved with the next deliveries, or after
 * `saveEveryMs`. A notifier that starts reads them again from the saved position: they still make
 * no delivery. While no endpoint exists at all, the events are not even read (nextEvents). One
 * instance per leading notifier process.
 */
export class FanOut {
  private saved: number | undefined;
  private position = 0;
  private savedAt = 0;
  private endpointSeen: boolean | undefined;

  constructor(private readonly deps: FanOutDeps) {}

  /**
   * Whether the last pass saw no webhook endpoint at all (false before the first pass). Then a
   * pass only moves the position past events nobody is owed (nextEvents), so nothing is late if it
   * waits for the next poll instead of running on every event wake-up (start-notifier.ts).
   */
  get sawNoEndpoint(): boolean {
    return this.endpointSeen === false;
  }

  /** One pass: how many deliveries it created, and whether more events may be waiting (a full page). */
  async pass(): Promise<{ inserted: number; more: boolean }> {
    const { db, log } = this.deps;
    if (this.saved === undefined) {
      this.saved = this.position = await readFanOutPosition(db);
      this.savedAt = Date.now();
    }
    const next = await this.nextEvents();
    if (next === undefined) return { inserted: 0, more: false };
    const { to, deliveries } = next;
    if (deliveries.length === 0 && Date.now() - this.savedAt < (this.deps.saveEveryMs ?? 5000)) {
      this.position = to;
      return { inserted: 0, more: next.more };
    }
    const { moved, inserted } = await fanOutDeliveries(db, { from: this.saved, to }, deliveries);
    if (!moved) {
      // another notifier moved it (this one lost the lead for a while): go on from there
      log.info({ from: this.saved, to }, 'the fan-out position moved elsewhere; reading on from it');
      this.saved = undefined;
      return { inserted: 0, more: true };
    }
    this.saved = this.position = to;
    this.savedAt = Date.now();
    this.deps.counters?.add({ kind: 'webhook', outcome: 'fanned-out' }, inserted);
    log.debug({ to, inserted }, 'fanned out');
    return { inserted, more: next.more };
  }

  /**
   * The events after the position and their deliveries, up to `to`; undefined when there is none.
   * While no endpoint exists, the events are passed without being read (readFanOutHorizon): at 90
   * requests/s, the notifier and its Postgres backend went from 0.45 to 0.29 ms of CPU per request
   * (issue 10, README Performance).
   */
  private async nextEvents(): Promise<{ to: number; deliveries: NewDelivery[]; more: boolean } | undefined> {
    const { db } = this.deps;
    const horizon = await readFanOutHorizon(db);
    this.endpointSeen = horizon.anyEndpoint;
    if (!horizon.anyEndpoint) {
      return horizon.latestEventId > this.position ? { to: horizon.latestEventId, deliveries: [], more: false } : undefined;
    }
    const read = await readEventsAfter(db, { afterId: formatEventId(this.position), limit: this.deps.pageSize });
    if (read.events.length === 0) return undefined;
    const endpoints = await endpointsOfClients(db, [...new Set(read.events.map((event) => event.requesterId))]);
    const deliveries: NewDelivery[] = read.events.flatMap((event) => {
      const matching = endpoints.filter((endpoint) => wants(endpoint, event));
      if (matching.length === 0) return [];
      const body = JSON.stringify(event);
      const eventId = parseEventId(event.eventId)!;
      return matching.map((endpoint) => ({ endpointId: endpoint.endpointId, eventId, body }));
    });
    return { to: parseEventId(read.resumeAfter)!, deliveries, more: read.more };
  }
}
