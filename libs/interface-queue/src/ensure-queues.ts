import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageQueue } from './interface-queue.js';

/**
 * Creates the queues if missing, waiting for the queue service to answer (an embedded Azurite may
 * be starting at the same moment under PM2). Throws after `timeoutMs`.
 */
export async function ensureQueuesExist(
  queues: Pick<MessageQueue, 'ensureExists' | 'name'>[],
  timeoutMs: number,
  onRetry: (err: unknown) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await Promise.all(queues.map((queue) => queue.ensureExists()));
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`interface queues ${queues.map((q) => q.name).join(', ')} unavailable after ${timeoutMs} ms`, {
          cause: err,
        });
      }
      onRetry(err);
      await sleep(500);
    }
  }
}
