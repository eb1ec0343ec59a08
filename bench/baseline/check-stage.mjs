// Baseline check stage: Received (0) → Checked (1), then on to the send stage.
import { bullQueue, jobOptions, pgPool } from './shared.mjs';
import { runStage } from './stage-worker.mjs';

const pool = pgPool('check');
const next = bullQueue('bl-send');
await runStage('bl-check', async (job) => {
  await pool.query('UPDATE bl_requests SET status = 1, checked_at = now() WHERE id = $1 AND status = 0', [job.data.id]);
  await next.add('send', job.data, { jobId: job.data.id, ...jobOptions });
});
