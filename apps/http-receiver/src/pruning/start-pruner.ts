import type { AppContext } from '@linebacker/runtime';
import { startLeaderDuty, type LeaderDeps } from '../leader-duty.js';
import { prune } from './prune.js';

/** Pruning of expired bookkeeping rows every LINEBACKER_PRUNE_INTERVAL_MS, on the leader (SPEC §6, §9). */
export function startPruner(context: AppContext, deps: LeaderDeps): void {
  const { config, logger, onShutdown } = context;
  const duty = startLeaderDuty({
    name: 'pruning',
    leadership: deps.leadership,
    pass: () => prune({ db: deps.pool, ...config.pruning, log: logger, counters: deps.counters }),
    startupDelayMs: config.reconciliation.startupDelayMs,
    intervalMs: config.pruning.intervalMs,
    log: logger,
  });
  onShutdown('pruning', () => duty.stop());
}
