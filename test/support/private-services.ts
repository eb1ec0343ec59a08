import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { onProcessExit, waitFor } from './exit-hooks.js';
import { freePort } from './free-port.js';
import { serverArgs, startRedisServer } from './redis-server.js';

/*
 * Private Redis and Postgres servers for tests that break them on purpose (the chaos suite):
 * FLUSHALL, stop/start and restart are real, and the machine's shared servers on 6379 / 5432 are
 * never touched. Each server lives on a free port with all its files in a temporary folder, and is
 * stopped (and the folder removed) by `destroy()`, by the process exiting, or at the latest when
 * the test process dies (Redis is our child; Postgres is stopped by an exit hook).
 */

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_OS_USER = 'postgres';

// ---------------------------------------------------------------------------------------------
// Redis

export interface PrivateRedis {
  url: string;
  port: number;
  /** FLUSHALL on this server (never on the shared one). */
  flushAll(): Promise<void>;
  /** SIGKILLs the server (nothing is persisted: every key is gone). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops the server for good and removes its folder. */
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'lb-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = await startRedisServer(port, serverArgs(port, dir));

  return {
    url,
    port,
    async flushAll() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
    },
    stop: () => server.kill(),
    start: () => server.start(),
    async destroy() {
      await server.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Postgres

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>` (trust auth), no database. */
  serverUrl: string;
  port: number;
  /** `pg_ctl stop -m fast`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stop, wait `downMs`, start. */
  restart(downMs?: number): Promise<void>;
  /** Stops the cluster for good and removes its folder. */
  destroy(): Promise<void>;
}

/** Runs a Postgres binary as the `postgres` OS user (initdb refuses root). */
function asPostgres(binary: string, args: string[], timeout = 60_000) {
  return run('runuser', ['-u', PG_OS_USER, '--', join(PG_BIN, binary), ...args], { timeout });
}

async function postgresAnswers(serverUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'lb-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  await mkdir(socketDir);
  const { stdout: uidText } = await run('id', ['-u', PG_OS_USER]);
  const { stdout: gidText } = await run('id', ['-g', PG_OS_USER]);
  const uid = Number(uidText.trim());
  const gid = Number(gidText.trim());
  await chown(dir, uid, gid);
  await chown(socketDir, uid, gid);

  const port = await freePort();
  const serverUrl = `postgres://postgres@127.0.0.1:${port}`;
  const logFile = join(dir, 'postgres.log');
  const options = [
    `-p ${port}`,
    `-k ${socketDir}`,
    "-c listen_addresses=127.0.0.1",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');

  await asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);

  let running = false;
  const start = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
    running = true;
    await waitFor(`private Postgres on ${port}`, () => postgresAnswers(serverUrl), 30_000);
  };
  const stop = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    running = false;
  };

  const unhook = onProcessExit(() => {
    if (running) execFileSync('runuser', ['-u', PG_OS_USER, '--', join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', 'stop'], { stdio: 'ignore', timeout: 20_000 });
  });
  try {
    await start();
  } catch (err) {
    unhook();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    serverUrl,
    port,
    stop,
    start,
    async restart(downMs = 0) {
      await stop();
      if (downMs > 0) await sleep(downMs);
      await start();
    },
    async destroy() {
      if (running) {
        await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
        running = false;
      }
      unhook();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
