// Baseline for `npm run bench`: one stage of a bare 4-stage BullMQ chain, the minimal version of
// a linebacker worker — take a job, one conditional Postgres UPDATE, add the job to the next
// stage. No validation, history, retries, metrics or logging. Run as its own process, like a
// PM2 app: node chain-stage.mjs <stage 0-3>
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const stage = Number(process.argv[2]);
const { DATABASE_URL, REDIS_URL, PREFIX, CONCURRENCY = '16' } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const next = stage < 3 ? new Queue(`bl-${stage + 1}`, { connection, prefix: PREFIX }) : undefined;
const worker = new Worker(
  `bl-${stage}`,
  async (job) => {
    await pool.query('UPDATE bl_requests SET status = $2, updated_at = now() WHERE id = $1 AND status = $3', [job.data.id, stage + 1, stage]);
    await next?.add('x', job.data, { jobId: job.data.id, removeOnComplete: { age: 3600, count: 100000 } });
  },
  { connection: connection.duplicate(), prefix: PREFIX, concurrency: Number(CONCURRENCY), removeOnComplete: { age: 3600, count: 100000 } },
);
await worker.waitUntilReady();
process.send?.('ready');
process.on('SIGTERM', async () => {
  await worker.close();
  await next?.close();
  connection.disconnect();
  await pool.end();
  process.exit(0);
});
