import { openInterfaceQueues, startPollLoop } from '@linebacker/interface-queue';
import { QUEUES, openCounters, openProducerQueue, type StatusReceivedJobData } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { receiveReplies } from './receive-replies.js';

await runApp('external-queue-receiver', async (context) => {
  const { config, logger, onShutdown } = context;
  const counters = openCounters(context);
  const statusReceived = openProducerQueue<StatusReceivedJobData>(context, QUEUES.statusReceived);
  const { statuses, poison } = await openInterfaceQueues(context, ['statuses', 'poison']);
  const loop = startPollLoop({
    poll: () =>
      receiveReplies({
        statuses,
        poison,
        statusReceived,
        batchSize: config.statusReceiver.batchSize,
        visibilityTimeoutSeconds: config.statusReceiver.visibilityTimeoutSeconds,
        log: logger,
        counters,
      }),
    maxIdleMs: config.statusReceiver.maxIdlePollMs,
    fullBatch: config.statusReceiver.batchSize,
    batchWaitMs: config.statusReceiver.batchWaitMs,
    concurrency: config.statusReceiver.concurrency,
    onError: (err) => logger.warn({ err }, 'polling the interface status queue failed; backing off'),
  });
  onShutdown('status queue polling', () => loop.stop());
});
