import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '@linebacker/config';
import { backoffDelayMs } from '@linebacker/domain';
import { watchPrimarySwitch } from './primary-switch.js';

/**
 * A connection to linebacker's Redis, whichever way it is reached (one server, Sentinel, Cluster).
 * Everything linebacker does with Redis goes through one of these, made here and nowhere else.
 */
export type RedisClient = Redis | Cluster;

/** Reconnect attempts: from 200 ms up to 2 s (libs/domain backoffDelayMs). */
const reconnectDelayMs = (times: number): number => backoffDelayMs(times, 200, 2000);

/**
 * A write refused with READONLY was sent to a server that is a replica now (a Sentinel failover
 * demoted the primary under a live connection): reconnect, which asks the Sentinels for the primary
 * again, and send the command once more (ioredis: 2).
 */
const reconnectOnReadOnly = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false);

/**
 * What a connection does while Redis is away:
 * - `producer` (Queue.add, counts, pings, counters, the health snapshot): fails fast instead of
 *   queueing commands, so that an HTTP request never waits on a dead Redis: the row is already safe
 *   in Postgres and recovery enqueues it later;
 * - `worker` (BullMQ workers, which block on Redis): never gives up a command (BullMQ requires
 *   `maxRetriesPerRequest: null`), commands wait until Redis is back.
 */
export type ConnectionRole = 'producer' | 'worker';

const ROLE_OPTIONS = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { enableOfflineQueue: true, maxRetriesPerRequest: null },
} as const satisfies Record<ConnectionRole, Pick<RedisOptions, 'enableOfflineQueue' | 'maxRetriesPerRequest'>>;

/** How the ioredis client of `config` is made: a Redis (one server or Sentinel) or a Cluster. */
export type ClientRecipe =
  | { kind: 'redis'; url?: string; options: RedisOptions }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; options: ClusterOptions };

/** The ioredis options for `config` and `role` (a pure function: what createRedisConnection uses). */
export function clientRecipe(config: RedisConfig, connectionName: string, role: ConnectionRole): ClientRecipe {
  const { enableOfflineQueue, maxRetriesPerRequest } = ROLE_OPTIONS[role];
  // credentials only when there are some: an empty AUTH would be an error on a server without one
  const credentials = {
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
  };
  const tls = config.tls ? { tls: {} } : {};
  const { topology } = config;
  switch (topology.kind) {
    case 'standalone':
      // host, port, database and TLS from the URL (which carries no credentials: libs/config)
      return {
        kind: 'redis',
        url: topology.url,
        options: { connectionName, ...credentials, enableOfflineQueue, maxRetriesPerRequest, retryStrategy: reconnectDelayMs },
      };
    case 'sentinel':
      return {
        kind: 'redis',
        options: {
          sentinels: topology.sentinels,
          name: topology.name,
          role: 'master',
          ...(topology.sentinelPassword !== undefined ? { sentinelPassword: topology.sentinelPassword } : {}),
          // while no Sentinel answers, ask them again as often as we reconnect
          sentinelRetryStrategy: reconnectDelayMs,
          connectionName,
          ...credentials,
          ...tls,
          db: config.db,
          enableOfflineQueue,
          maxRetriesPerRequest,
          retryStrategy: reconnectDelayMs,
          reconnectOnError: reconnectOnReadOnly,
        },
      };
    case 'cluster':
      return {
        kind: 'cluster',
        nodes: topology.nodes,
        options: {
          enableOfflineQueue,
          clusterRetryStrategy: reconnectDelayMs,
          redisOptions: { connectionName, ...credentials, ...tls, maxRetriesPerRequest },
        },
      };
  }
}

/** A connection to linebacker's Redis with the given role (see ConnectionRole). */
export function createRedisConnection(config: RedisConfig, connectionName: string, role: ConnectionRole): RedisClient {
  const recipe = clientRecipe(config, connectionName, role);
  if (recipe.kind === 'cluster') return new Cluster(recipe.nodes, recipe.options);
  if (recipe.url !== undefined) return new Redis(recipe.url, recipe.options);
  const connection = new Redis(recipe.options);
  const { topology } = config;
  if (topology.kind === 'sentinel') {
    watchPrimarySwitch(connection, { sentinels: topology.sentinels, name: topology.name, sentinelPassword: topology.sentinelPassword, retryStrategy: reconnectDelayMs });
  }
  return connection;
}

/**
 * A connection for producers (Queue.add, counts, pings): fails fast instead of queueing commands
 * while Redis is away (ConnectionRole `producer`).
 */
export function createProducerConnection(config: RedisConfig, connectionName: string): RedisClient {
  return createRedisConnection(config, connectionName, 'producer');
}

/** A connection for BullMQ workers, which block on Redis and must never give up a command. */
export function createWorkerConnection(config: RedisConfig, connectionName: string): RedisClient {
  return createRedisConnection(config, connectionName, 'worker');
}

/** Resolves true once the connection is ready, false if it is not within `timeoutMs`. */
export function waitUntilReady(connection: RedisClient, timeoutMs: number): Promise<boolean> {
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
