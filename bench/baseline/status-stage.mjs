// Baseline status stage: Sent (2) → Replied (3), the completion. A reply can overtake the send
// stage's own UPDATE, so Checked (1) is accepted too: nothing is left stranded.
import { pgPool } from './shared.mjs';
import { runStage } from './stage-worker.mjs';

const pool = pgPool('status');
await runStage('bl-status', async (job) => {
  await pool.query('UPDATE bl_requests SET status = 3, replied_at = now() WHERE id = $1 AND status IN (1, 2)', [job.data.backupRequestId]);
});
