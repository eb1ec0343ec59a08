import type { Logger } from 'pino';
import { compareEventIds, type OutboxAccess } from './outbox-access.js';
import type { Subscriber } from './event-subscriber.js';

export interface EventFeedOptions {
  /** Events read per statement. */
  batchSize: number;
  /** Reads again this often even without a wake-up (a lost pub/sub message, Redis down). */
  pollMs: number;
  heartbeatMs: number;
  logger: Logger;
}

/**
 * The one reader of the outbox in a receiver process: woken by the outbox's Redis pub/sub message
 * (and by a fallback poll), it reads the events after its position, in order, and hands each to
 * every subscriber, which filters it and writes it to its own connection without waiting. A
 * subscriber that does not read is disconnected once its connection holds too much; it never
 * holds the feed back, nor the other subscribers, nor the pipeline (which only writes the outbox).
 * Every receiver process reads the outbox itself, so this works in PM2 cluster mode and across
 * hosts.
 */
export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private positionValue: string | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly outbox: OutboxAccess,
    private readonly options: EventFeedOptions,
  ) {}

  /** The id of the last event handed to the subscribers: everything up to it has been. Undefined until started. */
  get position(): string | undefined {
    return this.positionValue;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Starts (once) from the outbox's newest event; resolves when the feed has a position. Started
   * by the first subscriber, so a receiver nobody follows reads nothing.
   */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.positionValue = await this.outbox.head();
      this.unsubscribe = await this.outbox.onWake(() => this.wake());
      this.timers.push(setInterval(() => this.wake(), this.options.pollMs).unref());
      this.timers.push(setInterval(() => this.heartbeat(), this.options.heartbeatMs).unref());
    })().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /** Registers a subscriber: every event read from now on reaches it. Returns the feed's position at that moment. */
  add(subscriber: Subscriber): string {
    if (this.positionValue === undefined) throw new Error('the event feed is not started');
    this.subscribers.add(subscriber);
    return this.positionValue;
  }

  remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
  }

  /** Reads what is new now, or once more after the read in progress. */
  wake(): void {
    if (this.stopped || this.positionValue === undefined) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves once the reads in progress (and any asked for meanwhile) are done: for tests and shutdown. */
  async settled(): Promise<void> {
    while (this.reading) await this.reading;
  }

  /** Stops reading and ends every stream (clients reconnect, to another receiver, and resume). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.reading;
    await this.unsubscribe?.().catch(() => undefined);
    for (const subscriber of [...this.subscribers]) subscriber.end();
  }

  private async readNew(): Promise<void> {
    try {
      if (this.subscribers.size === 0) {
        // nobody to hand events to: only keep up with the outbox, so the next live-only subscriber starts now
        this.positionValue = await this.outbox.head();
        return;
      }
      for (;;) {
        const page = await this.outbox.readAfter(this.positionValue!, this.options.batchSize);
        for (const event of page.events) for (const subscriber of this.subscribers) subscriber.deliver(event);
        for (const subscriber of this.subscribers) subscriber.checkBuffer();
        if (compareEventIds(page.next, this.positionValue!) > 0) this.positionValue = page.next;
        if (page.events.length < this.options.batchSize || this.stopped) return;
      }
    } catch (err) {
      // Postgres unavailable: the streams stay open, the next wake-up or poll reads again
      this.options.logger.warn({ err }, 'could not read the event outbox');
    }
  }

  private heartbeat(): void {
    for (const subscriber of this.subscribers) subscriber.heartbeat(this.positionValue);
  }
}
