import type { Logger } from 'pino';
import type { AdvisoryLeadership, Queryable } from '@linebacker/db';
import type { PipelineCounters } from '@linebacker/queues';
import { startPeriodicTask, type PeriodicTask } from '@linebacker/runtime';

/** What every leader duty works with. */
export interface LeaderDeps {
  pool: Queryable;
  counters: Pick<PipelineCounters, 'add'>;
  /** The lock on RECONCILIATION_LOCK_KEY: only its holder runs the duties. */
  leadership: AdvisoryLeadership;
}

/**
 * Runs `pass` after `startupDelayMs` and then every `intervalMs`, but only in the one process that
 * holds the leadership lock (SPEC §9 leader duties: reconciliation, pruning). Every instance tries
 * to take the lock at each tick, so when the leader dies another takes over within one interval.
 * Passes never overlap; failures are logged and the next tick tries again. Stopping waits for a
 * pass in progress; the lock itself is released by its owner (start-receiver.ts), after its duties.
 */
export function startLeaderDuty(options: {
  /** What the duty does, for the logs ("reconciliation", "pruning"). */
  name: string;
  leadership: AdvisoryLeadership;
  pass: () => Promise<unknown>;
  startupDelayMs: number;
  intervalMs: number;
  log: Logger;
}): PeriodicTask {
  const { leadership, log, name } = options;

  const tick = async () => {
    const wasLeader = leadership.isLeader;
    if (await leadership.tryAcquire()) {
      if (!wasLeader) log.info({ duty: name }, 'this instance is now the leader: it runs reconciliation, pruning and the health collection');
      try {
        await options.pass();
      } catch (err) {
        log.warn({ err }, `${name} pass failed; trying again next interval`);
      }
    }
  };
  return startPeriodicTask({ firstDelayMs: options.startupDelayMs, intervalMs: options.intervalMs, run: tick });
}
