import type { Logger } from 'pino';
import type { AdvisoryLeadership } from '@linebacker/db';
import { startPeriodicTask, type PeriodicTask } from '@linebacker/runtime';

/**
 * Runs `pass` after `startupDelayMs` and then every `intervalMs`, but only in the one process that
 * holds the leadership lock. Every instance tries to take the lock at each tick, so when the leader
 * dies another takes over within one interval. Passes never overlap; failures are logged and the
 * next tick tries again.
 */
export function startReconciliationDuty(options: {
  leadership: AdvisoryLeadership;
  pass: () => Promise<unknown>;
  startupDelayMs: number;
  intervalMs: number;
  log: Logger;
}): PeriodicTask {
  const { leadership, log } = options;

  const tick = async () => {
    const wasLeader = leadership.isLeader;
    if (await leadership.tryAcquire()) {
      if (!wasLeader) log.info('this instance now runs reconciliation');
      try {
        await options.pass();
      } catch (err) {
        log.warn({ err }, 'reconciliation pass failed; trying again next interval');
      }
    }
  };
  const task = startPeriodicTask({ firstDelayMs: options.startupDelayMs, intervalMs: options.intervalMs, run: tick });
  return {
    stop: async () => {
      await task.stop();
      await leadership.release();
    },
  };
}
