import type { SseStream } from './sse-stream.js';
import { compareEventIds, type StatusEvent } from './outbox-access.js';

export const SSE_EVENT_TYPE = 'status-changed';

/** Which events a subscriber may and wants to see. */
export interface EventFilter {
  /** Only this client's requests' events; undefined: every client's (ops:read). */
  requesterId: string | undefined;
  /** Only this request's events (`?backupRequestId=`). */
  backupRequestId: string | undefined;
}

export const matches = (filter: EventFilter, event: StatusEvent): boolean =>
  (filter.requesterId === undefined || event.requesterId === filter.requesterId) &&
  (filter.backupRequestId === undefined || event.backupRequestId === filter.backupRequestId);

export interface SubscriberLimits {
  /** Bytes the connection may hold unread before the subscriber is disconnected. */
  maxBufferedBytes: number;
  /** Live events kept for a subscriber while it catches up from the outbox. */
  maxPendingEvents: number;
}

/**
 * One client of GET /api/v1/events. It is registered with the feed before it catches up, so every
 * event the feed reads from then on reaches it; while it catches up from the outbox those wait in
 * `pending`. Every event is written at most once, in event id order: one with an id at or below
 * the last one written (read by both the catch-up and the feed) is skipped.
 */
export class Subscriber {
  private pending: StatusEvent[] | undefined = [];
  /** The id of the last event written, or the position it resumed from. */
  private lastId: string;
  private closedBecause: string | undefined;

  constructor(
    readonly stream: SseStream,
    private readonly filter: EventFilter,
    private readonly limits: SubscriberLimits,
    startAfter: string,
    private readonly onClose: (subscriber: Subscriber) => void,
  ) {
    this.lastId = startAfter;
  }

  get isLive(): boolean {
    return this.pending === undefined;
  }

  get isClosed(): boolean {
    return this.closedBecause !== undefined || this.stream.isClosed;
  }

  /** Why it was closed by us (undefined while open, or when the client went away). */
  get closeReason(): string | undefined {
    return this.closedBecause;
  }

  /** The position it has seen everything up to. */
  get position(): string {
    return this.lastId;
  }

  /** An event read by the catch-up (in order). */
  writeCaughtUp(event: StatusEvent): void {
    this.write(event);
  }

  /** Read the outbox up to `upTo` (its events written, those it may see): every later event comes from the feed. */
  goLive(upTo: string): void {
    if (compareEventIds(upTo, this.lastId) > 0) this.lastId = upTo;
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const event of pending) this.write(event);
    this.stream.position(this.lastId);
    this.checkBuffer();
  }

  /** An event the feed read (in order). */
  deliver(event: StatusEvent): void {
    if (this.isClosed || !matches(this.filter, event)) return;
    if (this.pending) {
      this.pending.push(event);
      if (this.pending.length > this.limits.maxPendingEvents) this.close('more live events arrived than it could take while it caught up');
      return;
    }
    this.write(event);
  }

  /** After a batch: a subscriber whose connection holds too much it has not read is dropped. */
  checkBuffer(): void {
    if (!this.isClosed && this.stream.bufferedBytes > this.limits.maxBufferedBytes) {
      this.close(`it did not keep up (${this.stream.bufferedBytes} bytes unread)`);
    }
  }

  /** A heartbeat comment; a live subscriber also learns the feed's position (a resume starts there). */
  heartbeat(feedPosition: string | undefined): void {
    if (this.isClosed) return;
    if (this.isLive && feedPosition !== undefined && compareEventIds(feedPosition, this.lastId) > 0) {
      this.lastId = feedPosition;
      this.stream.comment(`heartbeat\nid: ${feedPosition}`);
    } else {
      this.stream.comment('heartbeat');
    }
  }

  /** Disconnects (the client may resume with Last-Event-ID): the connection and what it buffers are dropped. */
  close(reason: string): void {
    if (this.closedBecause !== undefined) return;
    this.closedBecause = reason;
    this.stream.destroy();
    this.onClose(this);
  }

  /** The client went away, or the receiver stops: the stream ends normally. */
  end(): void {
    if (this.closedBecause !== undefined) return;
    this.closedBecause = 'ended';
    this.stream.end();
    this.onClose(this);
  }

  private write(event: StatusEvent): void {
    if (compareEventIds(event.eventId, this.lastId) <= 0 || !matches(this.filter, event)) return;
    this.lastId = event.eventId;
    this.stream.event(event.eventId, SSE_EVENT_TYPE, JSON.stringify(event));
  }
}
