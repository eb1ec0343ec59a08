import { openPool } from '@linebacker/db';
import { QUEUES, announceInstance, openCounters, startStepWorker, type StatusReceivedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { receiveStatus, recordGiveUp } from './receive-status.js';

await runApp('receive-status', async (context) => {
  const deps = { pool: openPool(context, 'receive-status', { keyedStatementsOnly: true }), counters: openCounters(context) };
  await startStepWorker<StatusReceivedJobData>(context, {
    queue: QUEUES.statusReceived,
    concurrency: context.config.workers.receiveStatus.concurrency,
    handle: (data, log) => receiveStatus(data, deps, log),
    onGiveUp: recordGiveUp(deps),
    counters: deps.counters,
    probe: () => deps.pool.query('SELECT 1'),
  });
}, { announce: announceInstance });
