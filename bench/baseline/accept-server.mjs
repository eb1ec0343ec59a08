// Baseline for `npm run bench`: a minimal Express accept endpoint — parse JSON, INSERT one row,
// add one BullMQ job, answer 202. No auth, validation, duplicate check, history, logging or
// metrics. node accept-server.mjs <port>
import { randomUUID } from 'node:crypto';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const port = Number(process.argv[2]);
const { DATABASE_URL, REDIS_URL, PREFIX } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
const queue = new Queue('bl-0', { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: PREFIX });
const app = express();
app.use(express.json());
app.post('/api/v1/backup-requests', async (req, res) => {
  const id = randomUUID();
  await pool.query('INSERT INTO bl_requests (id, status, received_at, updated_at) VALUES ($1, 0, now(), now())', [id]);
  await queue.add('x', { id }, { jobId: id, removeOnComplete: { age: 3600, count: 100000 } });
  res.status(202).json({ id, ...req.body });
});
app.listen(port, '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => process.exit(0));
