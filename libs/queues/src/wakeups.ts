import { Cluster } from 'ioredis';
import type { RedisConfig } from '@linebacker/config';
import { createProducerConnection, createWorkerConnection, type RedisClient } from './redis-connection.js';

/**
 * Wake-ups over Redis pub/sub (issue 15): "something new is in Postgres, read it". The data itself
 * is never in the message: readers read the outbox (libs/db readEventsAfter) or the deliveries
 * table, and also read on a timer, so a lost wake-up (Redis down, a reconnect) only delays them.
 *
 * Not pg_notify: NOTIFY takes a database-wide lock at commit that serialises every notifying
 * commit, a throughput cost on the pipeline's hot path. A PUBLISH per process every few tens of
 * milliseconds at most costs next to nothing.
 */

/** New status events committed (the outbox: libs/db readEventsAfter). */
export const eventWakeupChannel = (prefix: string): string => `${prefix}:linebacker:events`;

/** New webhook deliveries due (the notifier's fan-out added some). */
export const deliveryWakeupChannel = (prefix: string): string => `${prefix}:linebacker:deliveries`;

/** How long a publisher waits at least between two PUBLISHes (so at most 10 a second per process: every status change of the pipeline makes one, and each wakes every reader). */
export const WAKEUP_MIN_INTERVAL_MS = 100;

/**
 * The same while nobody listens: after a PUBLISH that reached no subscriber, the next one waits
 * this long (the readers' own poll period: a reader that subscribes meanwhile misses nothing it
 * would not find on its next poll), and the 100 ms cadence comes back with the first PUBLISH that
 * reaches one. A pipeline whose notifier has no webhook endpoint to serve and whose receivers stream
 * no events (the notifier then unsubscribes) so publishes once a second per process instead of ten
 * times (issue 10: each PUBLISH is a round trip).
 */
export const WAKEUP_UNHEARD_INTERVAL_MS = 1000;

/**
 * Publishes wake-ups on one channel, coalesced: the first `notify()` publishes at once, those in
 * the next `minIntervalMs` (`unheardIntervalMs` after a PUBLISH nobody received) become one
 * PUBLISH at its end. Never throws and never waits: with Redis unavailable the wake-up is dropped
 * (readers poll). On a Redis Cluster a PUBLISH counts only the subscribers of the node it was sent
 * to, so there `unheardIntervalMs` is `minIntervalMs` unless given.
 */
export class WakeupPublisher {
  private lastAt = 0;
  private heard = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Pick<RedisClient, 'publish' | 'status'>,
    private readonly channel: string,
    private readonly minIntervalMs = WAKEUP_MIN_INTERVAL_MS,
    private readonly unheardIntervalMs = redis instanceof Cluster ? minIntervalMs : WAKEUP_UNHEARD_INTERVAL_MS,
  ) {}

  notify(): void {
    if (this.timer) return;
    const waitMs = this.lastAt + (this.heard ? this.minIntervalMs : this.unheardIntervalMs) - Date.now();
    if (waitMs <= 0) return this.publish();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publish();
    }, waitMs);
    this.timer.unref();
  }

  /** Publishes a wake-up still waiting, then stops. */
  close(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.publish();
  }

  private publish(): void {
    this.lastAt = Date.now();
    if (this.redis.status !== 'ready') return;
    this.redis.publish(this.channel, '1').then(
      (receivers) => {
        this.heard = receivers > 0;
      },
      () => undefined,
    );
  }
}

/** A publisher of event wake-ups on a fail-fast connection of its own, for apps that have none to share. */
export function openWakeupPublisher(redis: RedisConfig, channel: string, connectionName: string): { publisher: WakeupPublisher; close: () => void } {
  const connection = createProducerConnection(redis, connectionName);
  connection.on('error', () => undefined);
  const publisher = new WakeupPublisher(connection, channel);
  return {
    publisher,
    close: () => {
      publisher.close();
      connection.disconnect();
    },
  };
}

export interface WakeupSubscription {
  close(): void;
}

/**
 * Calls `onWake` for every wake-up published on `channel`, and once more each time the subscriber
 * (re)connects (wake-ups published while it was away are lost). One Redis connection per call:
 * subscribe once per process and fan out in memory, not once per client of the process. The
 * connection reconnects and subscribes again by itself; errors are reported to `onError`.
 */
export function subscribeToWakeups(
  redis: RedisConfig,
  channel: string,
  onWake: () => void,
  options: { connectionName: string; onError?: (err: Error) => void },
): WakeupSubscription {
  const connection = createWorkerConnection(redis, options.connectionName);
  connection.on('error', (err: Error) => options.onError?.(err));
  connection.on('message', (from: string) => {
    if (from === channel) onWake();
  });
  connection.on('ready', onWake);
  connection.subscribe(channel).catch((err: unknown) => options.onError?.(err as Error));
  return { close: () => connection.disconnect() };
}

/**
 * Event wake-ups (SPEC §8): called when status events may have been committed, by every process
 * of every host that commits status changes. For the notifier and the event stream.
 */
export function subscribeToEventWakeups(
  redis: RedisConfig,
  onWake: () => void,
  onError?: (err: Error) => void,
): WakeupSubscription {
  return subscribeToWakeups(redis, eventWakeupChannel(redis.queuePrefix), onWake, {
    connectionName: 'linebacker:event-wakeups:subscriber',
    onError,
  });
}
