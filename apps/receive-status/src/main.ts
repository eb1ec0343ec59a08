import { openPool } from '@linebacker/db';
import { QUEUES, openCounters, startStepWorker, type StatusReceivedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { receiveStatus } from './receive-status.js';

await runApp('receive-status', async (context) => {
  const pool = openPool(context, 'receive-status');
  const counters = openCounters(context);
  await startStepWorker<StatusReceivedJobData>(context, {
    queue: QUEUES.statusReceived,
    concurrency: context.config.workers.receiveStatus.concurrency,
    handle: (data, log) => receiveStatus(data, { pool, counters }, log),
    counters,
    probe: () => pool.query('SELECT 1'),
  });
});
