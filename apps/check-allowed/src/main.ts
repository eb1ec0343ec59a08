import { openPool } from '@linebacker/db';
import { QUEUES, announceInstance, openProducerQueue, startStepWorker, type AllowedJobData, type RequestJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { checkAllowed } from './check-allowed.js';

await runApp('check-allowed', async (context) => {
  const pool = openPool(context, 'check-allowed', { keyedStatementsOnly: true });
  const allowed = openProducerQueue<AllowedJobData>(context, QUEUES.allowed);
  const enqueueAllowed = async (data: AllowedJobData) => {
    await allowed.add(QUEUES.allowed, data, { jobId: data.backupRequestId });
  };
  await startStepWorker<RequestJobData>(context, {
    queue: QUEUES.created,
    concurrency: context.config.workers.checkAllowed.concurrency,
    handle: (data, log) => checkAllowed(data, { db: pool, enqueueAllowed }, log),
    probe: () => pool.query('SELECT 1'),
  });
}, { announce: announceInstance });
