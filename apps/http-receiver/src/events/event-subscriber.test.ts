import { describe, expect, it } from 'vitest';
import { formatEventId, type StatusEvent } from '@linebacker/domain';
import { Subscriber, type EventFilter } from './event-subscriber.js';
import type { SseStream } from './sse-stream.js';

/** What a client would read: the `id:` of each event written, positions and heartbeats. */
class FakeStream {
  written: string[] = [];
  positions: string[] = [];
  heartbeats = 0;
  bufferedBytes = 0;
  isClosed = false;
  destroyed = false;
  event(id: string): void {
    this.written.push(id);
  }
  position(id: string): void {
    this.positions.push(id);
  }
  heartbeat(positionId?: string): void {
    this.heartbeats += 1;
    if (positionId) this.positions.push(positionId);
  }
  end(): void {
    this.isClosed = true;
  }
  destroy(): void {
    this.isClosed = true;
    this.destroyed = true;
  }
}

const event = (id: number, requesterId = 'alice', backupRequestId = 'r1'): StatusEvent => ({
  eventId: formatEventId(id),
  type: 'backup-request.status-changed',
  backupRequestId,
  requesterId,
  backupJobId: 'job',
  status: 'Received',
  previousStatus: null,
  reason: null,
  at: new Date(0).toISOString(),
  traceId: 't',
});
const ids = (...numbers: number[]) => numbers.map((n) => formatEventId(n));
const everything: EventFilter = { requesterId: undefined, backupRequestId: undefined };

function subscriber(options: { filter?: EventFilter; resumeAfter?: string; maxPending?: number; maxBytes?: number } = {}) {
  const stream = new FakeStream();
  const ended: string[] = [];
  const s = new Subscriber(
    stream as unknown as SseStream,
    options.filter ?? everything,
    { maxBufferedBytes: options.maxBytes ?? 1000, maxPendingEvents: options.maxPending ?? 100 },
    options.resumeAfter,
    (_s, reason) => ended.push(reason),
  );
  return { s, stream, ended };
}

describe('Subscriber: the hand-over from catch-up to live', () => {
  it('writes every event once and in order when the catch-up and the feed overlap', () => {
    const { s, stream } = subscriber({ resumeAfter: formatEventId(2) });
    // the feed (joined at position 5) reads 6..8 while the catch-up is still reading
    for (const n of [6, 7, 8]) s.deliver(event(n));
    expect(stream.written).toEqual([]);
    // the catch-up reads 3..7 (beyond the feed's position at join: 6 and 7 are in both)
    for (const n of [3, 4, 5, 6, 7]) s.writeCaughtUp(event(n));
    s.goLive(formatEventId(5));
    for (const n of [8, 9]) s.deliver(event(n)); // 8 again from the feed, then a new one
    expect(stream.written).toEqual(ids(3, 4, 5, 6, 7, 8, 9));
    expect(stream.positions).toEqual(ids(8));
  });

  it('starts a live-only subscriber at the feed position, with an id line a reconnect resumes from', () => {
    const { s, stream } = subscriber();
    s.deliver(event(11)); // read by the feed right after the join, before the route went on
    s.goLive(formatEventId(10));
    s.deliver(event(12));
    expect(stream.written).toEqual(ids(11, 12));
    expect(stream.positions).toEqual(ids(11));
  });

  it('skips what its client already saw (Last-Event-ID beyond the feed, as from another receiver)', () => {
    const { s, stream } = subscriber({ resumeAfter: formatEventId(20) });
    s.goLive(formatEventId(15));
    for (const n of [16, 20, 21]) s.deliver(event(n));
    expect(stream.written).toEqual(ids(21));
  });

  it('filters by client and by request, and moves Last-Event-ID on at heartbeats while live only', () => {
    const { s, stream } = subscriber({ filter: { requesterId: 'alice', backupRequestId: 'r1' }, resumeAfter: '0' });
    s.heartbeat(formatEventId(3)); // still catching up: no position
    s.writeCaughtUp(event(1, 'bob'));
    s.writeCaughtUp(event(2, 'alice', 'r2'));
    s.writeCaughtUp(event(3));
    s.goLive(formatEventId(3));
    s.deliver(event(4, 'bob'));
    s.heartbeat(formatEventId(4));
    s.heartbeat(formatEventId(4)); // not again: already there
    expect(stream.written).toEqual(ids(3));
    expect(stream.positions).toEqual(ids(3, 4));
    expect(stream.heartbeats).toBe(3);
  });

  it('is dropped when too many live events wait while it catches up, or its connection holds too much', () => {
    const pending = subscriber({ maxPending: 2 });
    for (const n of [1, 2, 3]) pending.s.deliver(event(n));
    expect(pending.ended).toEqual(['slow']);
    expect(pending.stream.destroyed).toBe(true);

    const full = subscriber({ maxBytes: 100 });
    full.s.goLive('0');
    full.stream.bufferedBytes = 100;
    full.s.checkBuffer();
    expect(full.ended).toEqual([]);
    full.stream.bufferedBytes = 101;
    full.s.checkBuffer();
    expect(full.ended).toEqual(['slow']);
    full.s.deliver(event(1));
    expect(full.stream.written).toEqual([]);
  });
});
