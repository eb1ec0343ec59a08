import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './exit-hooks.js';
import { freePort } from './free-port.js';
import { serverArgs, startRedisServer, type RedisServerProcess } from './redis-server.js';

/*
 * A Redis Sentinel set of a test (SPEC §9): a primary, a replica and three Sentinels (quorum 2),
 * every one a redis-server process of its own on a free port, its files in a temporary folder.
 * Sentinel notices a dead primary after `downAfterMs` and promotes the replica. `destroy()` kills
 * them all (and the test process exiting does, at the latest).
 */

export interface RedisSentinelSetOptions {
  /** The primary's name at the Sentinels (LINEBACKER_REDIS_SENTINEL_NAME). */
  name?: string;
  /** `requirepass` (and `masterauth`) of the primary and the replica. */
  password?: string;
  /** `requirepass` of the Sentinels themselves. */
  sentinelPassword?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

export interface RedisSentinelSet {
  name: string;
  /** `127.0.0.1:<port>,…`: LINEBACKER_REDIS_SENTINELS. */
  sentinels: string;
  /** The two servers' ports: the primary at the start, then the replica. */
  serverPorts: [number, number];
  /** The port of the primary as the Sentinels name it now (asks the first that answers). */
  primaryPort(): Promise<number>;
  /** `kill -9` of the server that is the primary now; returns its port. */
  killPrimary(): Promise<number>;
  /** `SENTINEL FAILOVER`: a switchover as an operator makes one, the primary alive (it becomes a replica). */
  switchover(): Promise<void>;
  /**
   * Starts a killed server again (empty: nothing is persisted) and resolves once the Sentinels have
   * made it a replica of the primary and it is in sync.
   */
  restartAsReplica(port: number): Promise<void>;
  /** Resolves once the server on `port` is a replica in sync and every Sentinel lists it as a good one. */
  waitForReplica(port: number): Promise<void>;
  /** A plain connection to one server (not through Sentinel), for the test to look at it (named OBSERVER). */
  connectTo(port: number): Redis;
  /** How many clients other than the Sentinels, replicas and observers are connected to the server on `port`. */
  clientsOf(port: number): Promise<number>;
  destroy(): Promise<void>;
}

const ask = (sentinel: Redis, ...args: string[]) => sentinel.call('SENTINEL', ...args);

/** The client name of the test's own connections to the servers. */
export const OBSERVER = 'lb-test-observer';

export async function startRedisSentinelSet(options: RedisSentinelSetOptions = {}): Promise<RedisSentinelSet> {
  const name = options.name ?? 'mymaster';
  const dir = await mkdtemp(join(tmpdir(), 'lb-sentinel-'));
  const ports = await Promise.all([freePort(), freePort()]);
  const sentinelPorts = await Promise.all([freePort(), freePort(), freePort()]);
  const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
  const processes: RedisServerProcess[] = [];
  const sentinelClients: Redis[] = [];
  const destroy = async () => {
    for (const client of sentinelClients) client.disconnect();
    await Promise.all(processes.map((process) => process.kill()));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const [primaryPort, replicaPort] = ports;
    processes.push(await startRedisServer(primaryPort, [...serverArgs(primaryPort, dir), ...auth], options.password));
    processes.push(await startRedisServer(replicaPort, [...serverArgs(replicaPort, dir), ...auth, '--replicaof', '127.0.0.1', String(primaryPort)], options.password));
    const replica = connectTo(replicaPort);
    try {
      await waitFor('the replica in sync', async () => /master_link_status:up/.test(await replica.info('replication')), 20_000);
    } finally {
      replica.disconnect();
    }

    for (const port of sentinelPorts) {
      // Sentinel rewrites its configuration file: one writable file each
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${port}.log`)}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${name} 1`,
          ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
          ...(options.sentinelPassword ? [`requirepass ${options.sentinelPassword}`, `sentinel sentinel-pass ${options.sentinelPassword}`] : []),
          '',
        ].join('\n'),
      );
      processes.push(await startRedisServer(port, [file, '--sentinel'], options.sentinelPassword));
      const client = new Redis({ host: '127.0.0.1', port, password: options.sentinelPassword, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
      client.on('error', () => {});
      sentinelClients.push(client);
    }
    // a failover needs the Sentinels to know the replica and each other (they find out through the primary)
    for (const sentinel of sentinelClients) {
      await waitFor(
        'a Sentinel that knows the replica and the other Sentinels',
        async () => {
          const [replicas, others] = (await Promise.all([ask(sentinel, 'REPLICAS', name), ask(sentinel, 'SENTINELS', name)])) as [unknown[], unknown[]];
          return replicas.length === 1 && others.length === 2 && String(await ask(sentinel, 'CKQUORUM', name)).startsWith('OK');
        },
        30_000,
      );
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  function connectTo(port: number): Redis {
    const client = new Redis({ host: '127.0.0.1', port, password: options.password, connectionName: OBSERVER, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    client.on('error', () => {});
    return client;
  }

  async function waitForReplica(port: number): Promise<void> {
    const replica = connectTo(port);
    try {
      await waitFor(`${port} a replica in sync`, async () => /role:slave[\s\S]*master_link_status:up/.test(await replica.info('replication')), 60_000);
    } finally {
      replica.disconnect();
    }
    // the Sentinels must see it as a replica again before it can be promoted
    for (const sentinel of sentinelClients) {
      await waitFor(
        `the Sentinels to list ${port} as a replica`,
        async () => {
          const replicas = (await ask(sentinel, 'REPLICAS', name)) as string[][];
          return replicas.some((fields) => {
            const entry = new Map<string, string>();
            for (let i = 0; i + 1 < fields.length; i += 2) entry.set(fields[i]!, fields[i + 1]!);
            return entry.get('port') === String(port) && !/s_down|disconnected/.test(entry.get('flags') ?? '') && entry.get('master-link-status') === 'ok';
          });
        },
        60_000,
      );
    }
  }

  const primaryPort = async (): Promise<number> => {
    for (const sentinel of sentinelClients) {
      try {
        const [, port] = (await ask(sentinel, 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        return Number(port);
      } catch {
        // ask the next one
      }
    }
    throw new Error('no Sentinel answered');
  };

  return {
    name,
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
    serverPorts: ports,
    primaryPort,
    async killPrimary() {
      const port = await primaryPort();
      const primary = processes.find((process) => process.port === port);
      if (!primary) throw new Error(`no server of this set on ${port}`);
      await primary.kill();
      return port;
    },
    async switchover() {
      await ask(sentinelClients[0]!, 'FAILOVER', name);
    },
    async restartAsReplica(port) {
      const server = processes.find((process) => process.port === port);
      if (!server) throw new Error(`no server of this set on ${port}`);
      await server.start();
      await waitForReplica(port);
    },
    waitForReplica,
    connectTo,
    async clientsOf(port) {
      const server = connectTo(port);
      try {
        const list = String(await server.call('CLIENT', 'LIST', 'TYPE', 'normal'));
        return list.split('\n').filter((line) => line.trim() !== '' && !new RegExp(` name=(?:sentinel-|${OBSERVER} )`).test(line)).length;
      } finally {
        server.disconnect();
      }
    },
    destroy,
  };
}
