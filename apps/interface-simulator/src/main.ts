import { createInterfaceQueues, ensureQueuesExist } from '@linebacker/interface-queue';
import { runApp } from '@linebacker/runtime';
import { startInterfaceSimulator } from './interface-simulator.js';

/** How long to wait for the queue service at start (an embedded Azurite may be starting too). */
const QUEUE_SERVICE_WAIT_MS = 60_000;

await runApp('interface-simulator', async ({ config, logger, onShutdown }) => {
  if (!config.simulator.enabled) {
    logger.warn('LINEBACKER_SIMULATOR is off, running anyway: whoever started this process asked for it');
  }
  const queues = createInterfaceQueues(config.interface);
  await ensureQueuesExist([queues.requests, queues.statuses], QUEUE_SERVICE_WAIT_MS, (err) =>
    logger.info({ err }, 'waiting for the interface queue service'),
  );

  const simulator = startInterfaceSimulator({
    queues,
    settings: {
      failureRatio: config.simulator.failureRatio,
      malformedRatio: config.simulator.malformedRatio,
      delayMs: config.simulator.delayMs,
      // leave the releasers registered before this one their share of the shutdown deadline
      stopTimeoutMs: Math.floor(config.shutdownTimeoutMs * 0.75),
    },
    logger,
  });
  onShutdown('interface simulator', () => simulator.stop());
});
