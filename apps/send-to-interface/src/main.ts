import { openPool } from '@linebacker/db';
import { createSendWindow, openInterfaceQueues } from '@linebacker/interface-queue';
import { QUEUES, announceInstance, openCounters, startStepWorker, type AllowedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { failUnsent, sendToInterface } from './send-to-interface.js';

await runApp('send-to-interface', async (context) => {
  const { config, logger, onShutdown } = context;
  const pool = openPool(context, 'send-to-interface', { keyedStatementsOnly: true });
  const counters = openCounters(context);
  // the status queue too: the send window reads its depth
  const { requests, statuses } = await openInterfaceQueues(context, ['requests', 'statuses']);
  const window = createSendWindow({
    readDepth: async () => (await Promise.all([requests.approximateCount(), statuses.approximateCount()])).reduce((a, b) => a + b, 0),
    maxDepth: config.interface.maxDepth,
    sampleMs: config.interface.depthSampleMs,
    onError: (err) => logger.debug({ err }, 'could not read the interface queue depth; sends go on'),
    onHeldBack: (waitedMs) => {
      counters.add({ kind: 'sends-held-back' });
      counters.add({ kind: 'sends-held-back-ms' }, waitedMs);
    },
  });
  await startStepWorker<AllowedJobData>(context, {
    queue: QUEUES.allowed,
    concurrency: config.workers.sendToInterface.concurrency,
    handle: (data, log, job) => sendToInterface(data, { db: pool, requests, window }, log, job),
    counters,
    probe: () => Promise.all([pool.query('SELECT 1'), requests.approximateCount()]),
    onGiveUp: (data, reason) => failUnsent(pool, data, reason),
  });
  // runs before the worker closes (last registered, first run): sends waiting for room go out
  onShutdown('interface send window', () => window.stop());
}, { announce: announceInstance });
