import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './exit-hooks.js';
import { freePort } from './free-port.js';
import { serverArgs, startRedisServer, type RedisServerProcess } from './redis-server.js';

/*
 * A real Redis Cluster of a test (SPEC §9): `primaries` redis-server processes with
 * `cluster-enabled yes`, no replicas, joined by `redis-cli --cluster create` and waited for until
 * every node says `cluster_state:ok`. Each on a free port, files in a temporary folder; `destroy()`
 * kills them (and the test process exiting does, at the latest).
 */

const run = promisify(execFile);

export interface RedisClusterOptions {
  primaries?: number;
  /** `requirepass` of the default user on every node (redis-cli uses it to build the cluster). */
  password?: string;
  /** An ACL user on every node: `user <name> on >password ~* &* +@all`. */
  user?: { name: string; password: string };
}

export interface RedisCluster {
  /** `127.0.0.1:<port>,…`: LINEBACKER_REDIS_CLUSTER_NODES. */
  nodes: string;
  ports: number[];
  /** A plain connection to one node (not a cluster client), as the default user. */
  connectTo(port: number): Redis;
  destroy(): Promise<void>;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'lb-cluster-'));
  const ports = await Promise.all(Array.from({ length: options.primaries ?? 3 }, () => freePort()));
  const auth = options.password ? ['--requirepass', options.password, '--masterauth', options.password] : [];
  const user = options.user ? ['--user', options.user.name, 'on', `>${options.user.password}`, '~*', '&*', '+@all'] : [];
  const processes: RedisServerProcess[] = [];
  const destroy = async () => {
    await Promise.all(processes.map((process) => process.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  const connectTo = (port: number): Redis => {
    const client = new Redis({ host: '127.0.0.1', port, password: options.password, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    client.on('error', () => {});
    return client;
  };

  try {
    for (const port of ports) {
      const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'];
      processes.push(await startRedisServer(port, [...serverArgs(port, dir), ...clusterArgs, ...auth, ...user], options.password));
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      // the password through the environment, not on a command line that `ps` shows
      env: { ...process.env, ...(options.password ? { REDISCLI_AUTH: options.password } : {}) },
      timeout: 60_000,
    });
    for (const port of ports) {
      const node = connectTo(port);
      try {
        await waitFor(`cluster_state:ok on ${port}`, async () => /cluster_state:ok/.test(String(await node.call('CLUSTER', 'INFO'))), 30_000);
      } finally {
        node.disconnect();
      }
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  return { nodes: ports.map((port) => `127.0.0.1:${port}`).join(','), ports, connectTo, destroy };
}
