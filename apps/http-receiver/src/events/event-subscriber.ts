import type { StatusEvent } from '@linebacker/domain';
import type { SseStream } from './sse-stream.js';
import { compareEventIds, laterEventId } from './event-ids.js';

/** The SSE `event:` of every status event (SPEC §8). */
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
  /** Bytes its connection may hold unread (beyond the kernel's buffers) before it is disconnected. */
  maxBufferedBytes: number;
  /** Live events held back for it while it catches up from the outbox, at most. */
  maxPendingEvents: number;
}

/** Why the receiver ended a stream (`linebacker_event_stream_disconnects_total{reason}`). */
export type DisconnectReason = 'slow' | 'catch-up-failed' | 'shutdown';

/**
 * One client of GET /api/v1/events. It joins the feed before it catches up, so every event the feed
 * reads from then on reaches it; while it catches up from the outbox those are held back. Every
 * event is written at most once and in id order: one at or below the last id written (read by both
 * the catch-up and the feed) is skipped.
 */
export class Subscriber {
  private pending: StatusEvent[] | undefined = [];
  /** The id of the last event written, or the position it resumes from. */
  private lastId: string | undefined;
  private ended = false;

  constructor(
    readonly stream: SseStream,
    readonly filter: EventFilter,
    private readonly limits: SubscriberLimits,
    resumeAfter: string | undefined,
    private readonly onEnd: (subscriber: Subscriber, reason: DisconnectReason | 'client') => void,
  ) {
    this.lastId = resumeAfter;
  }

  get isLive(): boolean {
    return this.pending === undefined;
  }

  get isEnded(): boolean {
    return this.ended || this.stream.isClosed;
  }

  /** An event its catch-up read from the outbox (in id order). */
  writeCaughtUp(event: StatusEvent): void {
    this.write(event);
  }

  /**
   * The catch-up has read every event it may see up to `feedPosition` (where the feed was when it
   * joined): the events held back since are written, and from now on the feed's go out at once.
   * The client's Last-Event-ID moves to that position, so a reconnect resumes from there.
   */
  goLive(feedPosition: string): void {
    this.lastId = laterEventId(this.lastId, feedPosition);
    const held = this.pending ?? [];
    this.pending = undefined;
    for (const event of held) this.write(event);
    this.stream.position(this.lastId);
  }

  /** An event the feed read (in id order). Never waits. */
  deliver(event: StatusEvent): void {
    if (this.isEnded || !matches(this.filter, event)) return;
    if (!this.pending) return this.write(event);
    this.pending.push(event);
    if (this.pending.length > this.limits.maxPendingEvents) this.disconnect('slow');
  }

  /**
   * Before a batch (and at each heartbeat): a subscriber whose connection still holds more than its
   * bound of what was written before — the socket has had every chance since to hand it to the
   * kernel, whose own buffers are full — does not read fast enough, and is dropped.
   */
  checkBuffer(): void {
    if (!this.isEnded && this.stream.bufferedBytes > this.limits.maxBufferedBytes) this.disconnect('slow');
  }

  /**
   * The heartbeat comment. A live subscriber has been offered every event up to the feed's
   * position, so its Last-Event-ID moves there too: a client that sees few events resumes from a
   * recent id, not from its last event hours ago.
   */
  heartbeat(feedPosition: string | undefined): void {
    if (this.isEnded) return;
    if (this.isLive && feedPosition !== undefined && compareEventIds(feedPosition, this.lastId) > 0) {
      this.lastId = feedPosition;
      this.stream.heartbeat(feedPosition);
    } else {
      this.stream.heartbeat();
    }
  }

  /** Drops the connection and whatever it still buffers (the client may resume with Last-Event-ID). */
  disconnect(reason: Exclude<DisconnectReason, 'shutdown'>): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.destroy();
    this.onEnd(this, reason);
  }

  /** Ends the stream normally: the client went away, or the receiver stops (the client reconnects elsewhere). */
  end(reason: 'client' | 'shutdown'): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.end();
    this.onEnd(this, reason);
  }

  private write(event: StatusEvent): void {
    if (compareEventIds(event.eventId, this.lastId) <= 0 || !matches(this.filter, event)) return;
    this.lastId = event.eventId;
    this.stream.event(event.eventId, SSE_EVENT_TYPE, JSON.stringify(event));
  }
}
