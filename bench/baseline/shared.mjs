// What every baseline process shares: its connections, the job options and the process life
// cycle (a PM2-like app: say 'ready' to the parent, finish in-flight work on SIGTERM, exit 0).
// Everything comes from the environment that bench/support/baseline.ts sets.
import { QueueClient } from '@azure/storage-queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const { DATABASE_URL, REDIS_URL, PREFIX, AZURE_STORAGE_CONNECTION_STRING } = process.env;

export const jobOptions = { removeOnComplete: { age: 3600, count: 100000 } };

export const redis = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null });
/** `role` names the connections (application_name), so the bench can split Postgres' CPU by stage. */
export const pgPool = (role) =>
  new pg.Pool({ connectionString: DATABASE_URL, max: 10, application_name: `reference ${role}` });
export const bullQueue = (name) => new Queue(name, { connection: redis(), prefix: PREFIX });
export const azureQueue = (name) => new QueueClient(AZURE_STORAGE_CONNECTION_STRING, name);

/** Tells the parent the process can work; on SIGTERM awaits `close` (in-flight work) and exits. */
export function ready(close) {
  process.once('SIGTERM', async () => {
    await close();
    process.exit(0);
  });
  process.send?.('ready');
}
