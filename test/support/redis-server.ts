import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { onProcessExit, waitFor } from './exit-hooks.js';

/*
 * One redis-server process of a test (a private server, a Sentinel, a cluster node): on a port of
 * its own, its files in the test's folder, never persisting anything, `noeviction` as linebacker
 * requires. The process is the test's child and is SIGKILLed at the latest when the test process
 * exits.
 */

const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServerProcess {
  port: number;
  /** The pid while it runs. */
  pid(): number | undefined;
  /** SIGKILL (`kill -9`): nothing is persisted, every key is gone. Resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again with the same arguments on the same port (after kill). */
  start(): Promise<void>;
}

/** What every test server gets: loopback only, nothing on disk, noeviction, its log in `dir`. */
export function serverArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--dir', dir, '--logfile', join(dir, `redis-${port}.log`)];
}

/** True when the server on `port` answers PING (with `password` of the default user, if given). */
export async function redisAnswers(port: number, password?: string): Promise<boolean> {
  const redis = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts `redis-server <args>` for `port` and resolves once it answers PING (`password`: of the
 * default user). `args` usually starts with serverArgs(port, dir), or is a Sentinel's config file.
 */
export async function startRedisServer(port: number, args: string[], password?: string): Promise<RedisServerProcess> {
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child) throw new Error(`redis-server on ${port} is already running`);
    const spawned = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    child = spawned;
    spawned.once('exit', () => {
      if (child === spawned) child = undefined;
    });
    await waitFor(`redis-server on ${port}`, () => redisAnswers(port, password), 10_000);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    if (!running) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  onProcessExit(() => child?.kill('SIGKILL'));
  await start();
  return { port, pid: () => child?.pid, kill, start };
}
