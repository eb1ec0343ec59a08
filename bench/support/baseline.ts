import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { QueueClient } from '@azure/storage-queue';
import pg from 'pg';

/**
 * The same-run baseline (issue 6): a minimal reference pipeline of linebacker's shape, on the same
 * Postgres, Redis and Azurite. Each role is its own process, like a PM2 app:
 *
 *   accept ──▶ [bl-check] ──▶ check ──▶ [bl-send] ──▶ send ──▶ request queue ──▶ simulator
 *                                                                                   │
 *   status ◀── [bl-status] ◀── status-receiver ◀── status queue ◀───────────────────┘
 *
 * One conditional UPDATE per step on `bl_requests`, nothing else: no auth, validation, history,
 * retries, logging or metrics. A request is complete at status 3 (`replied_at`).
 */
export const baselineSchema = `CREATE TABLE IF NOT EXISTS bl_requests (
  id uuid PRIMARY KEY,
  status int NOT NULL,
  received_at timestamptz NOT NULL,
  checked_at timestamptz,
  sent_at timestamptz,
  replied_at timestamptz
)`;

export interface BaselineOptions {
  databaseUrl: string;
  redisUrl: string;
  /** BullMQ key prefix of the baseline's queues (`bl-check`, `bl-send`, `bl-status`). */
  prefix: string;
  port: number;
  azureConnectionString: string;
  requestQueue: string;
  statusQueue: string;
  /** Jobs each stage worker runs at a time (default 16). */
  concurrency?: number;
}

export interface Baseline {
  acceptUrl: string;
  /** Process id by role: accept, check, send, simulator, status-receiver, status (for CPU readings). */
  processes: Record<string, number>;
  stop(): Promise<void>;
}

const roles = {
  accept: 'accept-server.mjs',
  check: 'check-stage.mjs',
  send: 'send-stage.mjs',
  simulator: 'simulator.mjs',
  'status-receiver': 'status-receiver.mjs',
  status: 'status-stage.mjs',
};
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 10_000;

const script = (name: string) => fileURLToPath(new URL(`../baseline/${name}`, import.meta.url));

function ready(role: string, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baseline ${role}: not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`baseline ${role} exited (${signal ?? code}) before it was ready`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within KILL_AFTER_MS. */
function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Creates the table and both interface queues if missing, starts every role, resolves once all are ready. */
export async function startBaseline(options: BaselineOptions): Promise<Baseline> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query(baselineSchema);
  } finally {
    await client.end();
  }
  for (const name of [options.requestQueue, options.statusQueue]) {
    await new QueueClient(options.azureConnectionString, name).createIfNotExists();
  }

  const env = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    PREFIX: options.prefix,
    AZURE_STORAGE_CONNECTION_STRING: options.azureConnectionString,
    REQUEST_QUEUE: options.requestQueue,
    STATUS_QUEUE: options.statusQueue,
    CONCURRENCY: String(options.concurrency ?? 16),
  };
  const children = Object.entries(roles).map(([role, name]) => {
    const args = role === 'accept' ? [String(options.port)] : [];
    return [role, fork(script(name), args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })] as const;
  });
  const stop = async () => {
    await Promise.all(children.map(([, child]) => terminate(child)));
  };
  try {
    await Promise.all(children.map(([role, child]) => ready(role, child)));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    acceptUrl: `http://127.0.0.1:${options.port}`,
    processes: Object.fromEntries(children.map(([role, child]) => [role, child.pid!])),
    stop,
  };
}
