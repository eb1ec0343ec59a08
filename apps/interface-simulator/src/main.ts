import { openInterfaceQueues } from '@linebacker/interface-queue';
import { announceInstance } from '@linebacker/queues';
import { runApp } from '@linebacker/runtime';
import { startInterfaceSimulator } from './interface-simulator.js';

await runApp('interface-simulator', async (context) => {
  const { config, logger, onShutdown } = context;
  if (!config.simulator.enabled) {
    logger.warn('LINEBACKER_SIMULATOR is off, running anyway: whoever started this process asked for it');
  }
  const queues = await openInterfaceQueues(context, ['requests', 'statuses']);

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
}, { announce: announceInstance });
