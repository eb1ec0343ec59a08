import type { AppContext } from '@linebacker/runtime';
import { createInterfaceQueues } from './azure-message-queue.js';
import { ensureQueuesExist } from './ensure-queues.js';
import type { InterfaceQueues } from './interface-queue.js';

/** How long an app waits for the queue service at start (an embedded Azurite may be starting too). */
const QUEUE_SERVICE_WAIT_MS = 60_000;

/**
 * The interface queues of the configuration (SPEC §4), once the ones this app needs exist: created
 * if missing, waiting for the queue service meanwhile. Throws when it does not answer in time.
 */
export async function openInterfaceQueues(
  { config, logger }: Pick<AppContext, 'config' | 'logger'>,
  needed: (keyof InterfaceQueues)[],
): Promise<InterfaceQueues> {
  const queues = createInterfaceQueues(config.interface);
  await ensureQueuesExist(
    needed.map((name) => queues[name]),
    QUEUE_SERVICE_WAIT_MS,
    (err) => logger.info({ err }, 'waiting for the interface queue service'),
  );
  return queues;
}
