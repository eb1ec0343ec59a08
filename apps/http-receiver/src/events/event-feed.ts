import type { Logger } from 'pino';
import type { RedisConfig } from '@linebacker/config';
import { latestFinalEventId, readEventsAfter, type Pool } from '@linebacker/db';
import { subscribeToEventWakeups, type WakeupSubscription } from '@linebacker/queues';
import { startWakeableTask, type WakeableTask } from '@linebacker/runtime';
import { compareEventIds } from './event-ids.js';
import type { DisconnectReason, Subscriber } from './event-subscriber.js';

export interface EventFeedOptions {
  pool: Pool;
  redis: RedisConfig;
  /** Events read per statement. */
  batchSize: number;
  /** Reads again this often without a wake-up (a lost pub/sub message, Redis down). */
  pollMs: number;
  heartbeatMs: number;
  logger: Logger;
}

/**
 * The one reader of the outbox in a receiver process (GET /api/v1/events). Woken by the wake-ups
 * every process that commits status changes publishes on Redis (libs/queues wakeups.ts), and by a
 * poll, it reads the events after its position with readEventsAfter (in id order, each once every
 * lower id is final) and hands each to every subscriber, which filters it and writes it to its own
 * connection without waiting. A subscriber that does not read is dropped once its connection holds
 * too much (event-subscriber.ts): it never holds back the feed, the other subscribers or the
 * pipeline (which only writes the outbox and publishes). Every receiver process reads the outbox
 * itself, so this works in PM2 cluster mode and across hosts.
 *
 * Without subscribers it reads nothing; the first one to join after that starts it from the newest
 * final event (latestFinalEventId).
 */
export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private positionValue: string | undefined;
  private task: WakeableTask | undefined;
  private wakeups: WakeupSubscription | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private stopped = false;
  private readonly disconnects = new Map<DisconnectReason, number>();

  constructor(private readonly options: EventFeedOptions) {}

  /** The id of the last event handed to the subscribers: every event up to it has been. */
  get position(): string | undefined {
    return this.positionValue;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Streams the receiver ended, by reason, since it started. */
  disconnectCounts(): ReadonlyMap<DisconnectReason, number> {
    return this.disconnects;
  }

  /**
   * Registers a subscriber: every event the feed reads from now on reaches it. Resolves to the
   * feed's position at that moment (every later event reaches it). Rejects (before registering)
   * when Postgres cannot be read.
   */
  async join(subscriber: Subscriber): Promise<string> {
    if (this.stopped) throw new Error('the event feed is stopped');
    if (this.subscribers.size === 0) {
      this.restarting ??= this.restartFromNow().finally(() => {
        this.restarting = undefined;
      });
      await this.restarting;
    }
    this.subscribers.add(subscriber);
    return this.positionValue!;
  }

  /** A subscriber's stream ended (`reason`: who ended it). */
  leave(subscriber: Subscriber, reason: DisconnectReason | 'client'): void {
    this.subscribers.delete(subscriber);
    if (reason !== 'client') this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
  }

  /** Stops reading and ends every stream (clients reconnect, to another receiver, and resume). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeats);
    this.wakeups?.close();
    await this.task?.stop();
    for (const subscriber of [...this.subscribers]) subscriber.end('shutdown');
  }

  /** Nobody was handed the events read so far: start after the newest final one. */
  private async restartFromNow(): Promise<void> {
    const { eventId, final } = await latestFinalEventId(this.options.pool);
    if (!final) {
      this.options.logger.warn('a transaction older than the newest status event is still running: an event it commits below it will not be streamed live');
    }
    if (compareEventIds(eventId, this.positionValue) > 0) this.positionValue = eventId;
    this.startReading();
  }

  private startReading(): void {
    if (this.task || this.stopped) return;
    this.task = startWakeableTask({ run: () => this.readNew(), pollMs: this.options.pollMs });
    this.wakeups = subscribeToEventWakeups(this.options.redis, () => this.task?.wake());
    this.heartbeats = setInterval(() => {
      for (const subscriber of this.subscribers) {
        subscriber.checkBuffer();
        subscriber.heartbeat(this.positionValue);
      }
    }, this.options.heartbeatMs);
    this.heartbeats.unref();
  }

  /** One page of new events to every subscriber; true when more may be waiting. */
  private async readNew(): Promise<boolean> {
    if (this.subscribers.size === 0 || this.positionValue === undefined) return false;
    try {
      const read = await readEventsAfter(this.options.pool, { afterId: this.positionValue, limit: this.options.batchSize });
      // (from here to the position update nothing waits: a subscriber joining meanwhile gets these
      // events and the old position, or neither and the new one)
      // a subscriber still holding more than its bound from earlier batches (the socket had all the
      // time since to hand it to the kernel) does not keep up: it is dropped before this batch
      if (read.events.length > 0) for (const subscriber of this.subscribers) subscriber.checkBuffer();
      for (const event of read.events) for (const subscriber of this.subscribers) subscriber.deliver(event);
      if (compareEventIds(read.resumeAfter, this.positionValue) > 0) this.positionValue = read.resumeAfter;
      return read.more || read.pending;
    } catch (err) {
      // Postgres unavailable: the streams stay open, the next wake-up or poll reads again
      this.options.logger.warn({ err }, 'could not read the status events');
      return false;
    }
  }
}
