// Baseline accept endpoint: parse JSON, INSERT one row, add one BullMQ job, answer 202. No auth,
// validation, duplicate check, history, logging or metrics. node accept-server.mjs <port>
import { randomUUID } from 'node:crypto';
import express from 'express';
import { bullQueue, jobOptions, pgPool, ready } from './shared.mjs';

const port = Number(process.argv[2]);
const pool = pgPool('accept');
const next = bullQueue('bl-check');
const app = express();
app.use(express.json());
app.post('/api/v1/backup-requests', async (req, res) => {
  const id = randomUUID();
  await pool.query('INSERT INTO bl_requests (id, status, received_at) VALUES ($1, 0, now())', [id]);
  await next.add('check', { id }, { jobId: id, ...jobOptions });
  res.status(202).json({ id, ...req.body });
});
const server = app.listen(port, '127.0.0.1', (err) => {
  if (err) throw err;
  ready(() => new Promise((resolve) => server.close(resolve)));
});
