import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { azuriteConnectionString } from '@linebacker/config';
import { createAzureMessageQueue, type MessageQueue } from '@linebacker/interface-queue';
import { QUEUES } from '@linebacker/queues';
import { call, createTestApiClient } from '../../test/support/api-client.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { freePort } from '../../test/support/free-port.js';
import { destroyPipeline, isolatedPipelineEnv, npm, pm2List } from '../../test/support/pipeline.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl } from '../../test/support/test-database.js';
import { startBaseline } from './baseline.js';
import { BASELINE_TABLE, LINEBACKER_TABLE, type RequestTable } from './figures.js';
import { findPids } from './process-cpu.js';

/**
 * Which Azurite the interface leg runs on: linebacker's embedded one (`npm start` without
 * AZURE_STORAGE_CONNECTION_STRING: data on tmpfs; the baseline gets one started with the same
 * flags), or an external `azurite-queue --inMemoryPersistence` started by the bench for each run.
 */
export type AzuriteMode = 'embedded' | 'in-memory';

export const BACKUP_JOB = 'bench-job';

/** One system under test, started cold for one run, on the shared Postgres and Redis. */
export interface BenchSystem {
  name: 'linebacker' | 'baseline';
  url: string;
  token?: string;
  db: pg.Pool;
  table: RequestTable;
  /** Jobs waiting, active or delayed per BullMQ queue, and messages per interface queue. */
  depths(): Promise<Record<string, number>>;
  /** The processes a run's CPU is charged to, by role; Postgres and Redis included. */
  processGroups(): Promise<Record<string, number[]>>;
  stop(): Promise<void>;
}

const SEMI_SPACE_MB = '8'; // libs/config's default, which the embedded Azurite runs with

/** Depth readers shared by both systems: the same calls, so sampling costs both the same. */
function depthReader(prefix: string, queueNames: string[], connectionString: string, interfaceQueues: string[]) {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const queues = queueNames.map((name) => new Queue(name, { connection: redis, prefix }));
  const azure: MessageQueue[] = interfaceQueues.map((name) => createAzureMessageQueue(connectionString, name));
  return {
    read: async (): Promise<Record<string, number>> => {
      const bull = await Promise.all(queues.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized')));
      const messages = await Promise.all(azure.map((q) => q.approximateCount().catch(() => -1)));
      return Object.fromEntries([
        ...queues.map((q, i) => [q.name, Object.values(bull[i]!).reduce((a, b) => a + b, 0)] as const),
        ...azure.map((q, i) => [`azure:${q.name}`, messages[i]!] as const),
      ]);
    },
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
    },
  };
}

/**
 * The Postgres processes by what they serve: `postgres: <application_name>` for connections (each
 * linebacker app and reference stage names its pool), `postgres: <backend type>` for the server's
 * own workers (WAL writer, autovacuum, ...), so the report shows where Postgres' share goes.
 */
async function postgresGroups(db: pg.Pool): Promise<Record<string, number[]>> {
  const { rows } = await db.query<{ pid: number; role: string }>(
    `SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS role FROM pg_stat_activity`,
  );
  const roleOf = new Map(rows.map((row) => [row.pid, row.role]));
  const groups: Record<string, number[]> = {};
  for (const pid of await findPids(/^postgres: /)) (groups[`postgres: ${roleOf.get(pid) ?? 'server'}`] ??= []).push(pid);
  return groups;
}

const sharedServices = async (db: pg.Pool) => ({ ...(await postgresGroups(db)), 'redis-server': await findPids(/^redis-server /) });

/** linebacker as a user runs it: `npm start` under a PM2 daemon of its own, default settings. */
export async function startLinebacker(mode: AzuriteMode, extraEnv: Record<string, string> = {}): Promise<BenchSystem> {
  const database = await createTestDatabase();
  const external = mode === 'in-memory' ? await startAzurite() : undefined;
  const pipeline = await isolatedPipelineEnv({
    DATABASE_URL: database.databaseUrl,
    LINEBACKER_SIMULATOR_DELAY_MS: '0',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: '0',
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: '0',
    LINEBACKER_RATE_LIMIT_PER_MINUTE: '100000000',
    ...(external ? { AZURE_STORAGE_CONNECTION_STRING: external.connectionString, LINEBACKER_SIMULATOR: 'on' } : {}),
    ...extraEnv,
  });
  await npm(pipeline, 'start');
  const db = new pg.Pool({ connectionString: database.databaseUrl, max: 2 });
  const { apiKey } = await createTestApiClient(database.databaseUrl, ['requests:write', 'requests:read', 'jobs:admin', 'ops:read'], 'bench');
  const put = await call(pipeline.url, 'PUT', `/api/v1/backup-jobs/${BACKUP_JOB}`, {
    token: apiKey,
    json: { storagePathName: 'vault/bench', backupProviderCode: 'Local', daysToKeep: 1 },
  });
  if (put.status >= 300) throw new Error(`PUT backup job: ${put.status}`);
  const connectionString = external?.connectionString ?? azuriteConnectionString('127.0.0.1', pipeline.azuritePort);
  const depth = depthReader(
    pipeline.env.LINEBACKER_QUEUE_PREFIX!,
    [QUEUES.created, QUEUES.allowed, QUEUES.statusReceived],
    connectionString,
    ['backup-requests', 'backup-statuses'],
  );
  const daemonPid = Number(await readFile(join(pipeline.pm2Home, 'pm2.pid'), 'utf8'));
  return {
    name: 'linebacker',
    url: pipeline.url,
    token: apiKey,
    db,
    table: LINEBACKER_TABLE,
    depths: depth.read,
    processGroups: async () => {
      const groups: Record<string, number[]> = { 'pm2 daemon': [daemonPid] };
      for (const app of await pm2List(pipeline)) (groups[app.name] ??= []).push(app.pid);
      if (external) groups.azurite = [external.pid];
      return { ...groups, ...(await sharedServices(db)) };
    },
    stop: async () => {
      await depth.close();
      await db.end();
      await destroyPipeline(pipeline);
      await external?.stop();
      await database.drop();
    },
  };
}

/** The minimal reference pipeline of the same shape (bench/baseline), on an Azurite like linebacker's. */
export async function startReference(mode: AzuriteMode): Promise<BenchSystem> {
  const database = await createTestDatabase();
  const dataDir = mode === 'embedded' ? await mkdtemp('/dev/shm/lb-bench-azurite-') : undefined;
  const azurite: Azurite = await startAzurite(
    dataDir ? { location: dataDir, nodeArgs: [`--max-semi-space-size=${SEMI_SPACE_MB}`] } : {},
  );
  const prefix = testQueuePrefix();
  const port = await freePort();
  const interfaceQueues = { requestQueue: 'bl-requests', statusQueue: 'bl-statuses' };
  const baseline = await startBaseline({
    databaseUrl: database.databaseUrl,
    redisUrl: testRedisUrl(),
    prefix,
    port,
    azureConnectionString: azurite.connectionString,
    ...interfaceQueues,
  });
  const db = new pg.Pool({ connectionString: database.databaseUrl, max: 2 });
  const depth = depthReader(prefix, ['bl-check', 'bl-send', 'bl-status'], azurite.connectionString, Object.values(interfaceQueues));
  return {
    name: 'baseline',
    url: baseline.acceptUrl,
    db,
    table: BASELINE_TABLE,
    depths: depth.read,
    processGroups: async () => ({
      ...Object.fromEntries(Object.entries(baseline.processes).map(([role, pid]) => [role, [pid]])),
      azurite: [azurite.pid],
      ...(await sharedServices(db)),
    }),
    stop: async () => {
      await depth.close();
      await baseline.stop();
      await db.end();
      await azurite.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      await database.drop();
    },
  };
}
