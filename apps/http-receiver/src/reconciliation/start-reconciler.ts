import type { RequestQueue, StatusReceivedJobData, WakeupPublisher } from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { startLeaderDuty, type LeaderDeps } from '../leader-duty.js';
import { reconcile } from './reconcile.js';

/** The advisory lock whose holder runs the leader duties: reconciliation, pruning, health collection (per database). */
export const RECONCILIATION_LOCK_KEY = 0x6c62_7263; // "lbrc"

export interface ReconcilerDeps extends LeaderDeps {
  created: RequestQueue;
  allowed: RequestQueue;
  statusReceived: RequestQueue<StatusReceivedJobData>;
  /** Event wake-ups, published when reply timeouts failed requests. */
  wakeups: Pick<WakeupPublisher, 'notify'>;
}

/** Startup recovery and periodic reconciliation, on the instance that holds the lock (SPEC §6). */
export function startReconciler(context: AppContext, deps: ReconcilerDeps): void {
  const { config, logger, onShutdown } = context;
  const duty = startLeaderDuty({
    name: 'reconciliation',
    leadership: deps.leadership,
    pass: () =>
      reconcile({
        db: deps.pool,
        created: deps.created,
        allowed: deps.allowed,
        statusReceived: deps.statusReceived,
        wakeups: deps.wakeups,
        ...config.reconciliation,
        log: logger,
        counters: deps.counters,
      }),
    startupDelayMs: config.reconciliation.startupDelayMs,
    intervalMs: config.reconciliation.intervalMs,
    log: logger,
  });
  onShutdown('reconciliation', () => duty.stop());
}
