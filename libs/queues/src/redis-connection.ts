import { Redis } from 'ioredis';
import { backoffDelayMs } from '@linebacker/domain';

export type { Redis };

/** Reconnect attempts: from 200 ms up to 2 s (libs/domain backoffDelayMs). */
const reconnectDelayMs = (times: number): number => backoffDelayMs(times, 200, 2000);

/**
 * A connection for producers (Queue.add, counts, pings). It fails fast instead of queueing
 * commands while Redis is away, so that an HTTP request never waits on a dead Redis: the row is
 * already safe in Postgres and recovery enqueues it later.
 */
export function createProducerConnection(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelayMs,
  });
}

/** A connection for BullMQ workers, which block on Redis and must never give up a command. */
export function createWorkerConnection(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelayMs,
  });
}

/** Resolves true once the connection is ready, false if it is not within `timeoutMs`. */
export function waitUntilReady(connection: Redis, timeoutMs: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    connection.on('ready', onReady);
  });
}
