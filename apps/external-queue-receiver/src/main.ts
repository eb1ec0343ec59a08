import { openPool } from '@linebacker/db';
import { DependencyUnavailableError } from '@linebacker/domain';
import { openInterfaceQueues, startPollLoop } from '@linebacker/interface-queue';
import { QUEUES, announceInstance, openCounters, openProducerQueue, type StatusReceivedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { receiveReplies } from './receive-replies.js';

await runApp('external-queue-receiver', async (context) => {
  const { config, logger, onShutdown, work } = context;
  const db = openPool(context, 'external-queue-receiver', { keyedStatementsOnly: true });
  const counters = openCounters(context);
  const statusReceived = openProducerQueue<StatusReceivedJobData>(context, QUEUES.statusReceived);
  const { statuses, poison } = await openInterfaceQueues(context, ['statuses', 'poison']);
  // After Postgres was found unavailable, no message is received until it answers again: each
  // receive would only raise the messages' dequeue counts towards the poison limit.
  let inboxUnavailable = false;
  const loop = startPollLoop({
    // a receive in progress (a batch of up to 32 replies) is this app's activeJobs in the instance registry
    poll: () => work.track(async () => {
      if (inboxUnavailable) await db.query('SELECT 1');
      inboxUnavailable = false;
      try {
        return await receiveReplies({
          statuses,
          poison,
          db,
          statusReceived,
          batchSize: config.statusReceiver.batchSize,
          visibilityTimeoutSeconds: config.statusReceiver.visibilityTimeoutSeconds,
          maxDequeueCount: config.statusReceiver.maxDequeueCount,
          log: logger,
          counters,
        });
      } catch (err) {
        inboxUnavailable = err instanceof DependencyUnavailableError && err.dependency === 'postgres';
        throw err;
      }
    }),
    maxIdleMs: config.statusReceiver.maxIdlePollMs,
    fullBatch: config.statusReceiver.batchSize,
    batchWaitMs: config.statusReceiver.batchWaitMs,
    concurrency: config.statusReceiver.concurrency,
    onError: (err) => logger.warn({ err }, 'polling the interface status queue failed; backing off'),
  });
  onShutdown('status queue polling', () => loop.stop());
}, { announce: announceInstance });
