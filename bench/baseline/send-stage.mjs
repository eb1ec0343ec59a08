// Baseline send stage: one message to the interface request queue (the fields and about the size
// of linebacker's outbound message, SPEC §4), then Checked (1) → Sent (2).
import { azureQueue, pgPool } from './shared.mjs';
import { runStage } from './stage-worker.mjs';

const pool = pgPool('send');
const requests = azureQueue(process.env.REQUEST_QUEUE);
await runStage('bl-send', async (job) => {
  const { id } = job.data;
  const message = {
    apiVersion: '2022-05-22',
    backupRequestId: id,
    backupJobId: 'bench-job',
    dataDate: new Date().toISOString().slice(0, 10),
    preparedDataPathName: `/bench/baseline/${id}`,
    storagePathName: 'vault/bench',
    backupProviderCode: 'Local',
    requestedAt: new Date().toISOString(),
    traceId: id,
  };
  await requests.sendMessage(JSON.stringify(message));
  await pool.query('UPDATE bl_requests SET status = 2, sent_at = now() WHERE id = $1 AND status = 1', [id]);
});
