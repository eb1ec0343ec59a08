import { isDatabaseUnavailable, openPool } from '@linebacker/db';
import { createInterfaceQueues, ensureQueuesExist, isInterfaceUnavailable } from '@linebacker/interface-queue';
import { QUEUES, isRedisUnavailable, startStepWorker, type AllowedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { failUnsent, sendToInterface } from './send-to-interface.js';

await runApp('send-to-interface', async (context) => {
  const { config } = context;
  const pool = openPool(context, 'send-to-interface');
  const { requests } = createInterfaceQueues(config.interface.connectionString, {
    requests: config.interface.requestQueue,
    statuses: config.interface.statusQueue,
    poison: config.interface.poisonQueue,
  });
  await ensureQueuesExist([requests], 60_000, (err) => context.logger.info({ err }, 'waiting for the interface queue'));
  await startStepWorker<AllowedJobData>(context, {
    queue: QUEUES.allowed,
    concurrency: config.workers.sendToInterface.concurrency,
    handle: (data, log, job) => sendToInterface(data, { db: pool, requests }, log, job),
    probe: () => Promise.all([pool.query('SELECT 1'), requests.approximateCount()]),
    isConnectionFailure: (err) => isDatabaseUnavailable(err) || isInterfaceUnavailable(err) || isRedisUnavailable(err),
    onGiveUp: (data, reason) => failUnsent(pool, data, reason),
  });
});
