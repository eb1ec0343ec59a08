// A baseline stage: one BullMQ Worker on `name` running `processor`, CONCURRENCY jobs at a time.
import { Worker } from 'bullmq';
import { jobOptions, ready, redis } from './shared.mjs';

const { PREFIX, CONCURRENCY = '16' } = process.env;

export async function runStage(name, processor) {
  const worker = new Worker(name, processor, { connection: redis(), prefix: PREFIX, concurrency: Number(CONCURRENCY), ...jobOptions });
  await worker.waitUntilReady();
  ready(() => worker.close());
}
