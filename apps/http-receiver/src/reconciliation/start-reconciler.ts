import type { AdvisoryLeadership, Queryable } from '@linebacker/db';
import type { PipelineCounters, RequestQueue, StatusReceivedJobData } from '@linebacker/queues';
import type { AppContext } from '@linebacker/runtime';
import { reconcile } from './reconcile.js';
import { startReconciliationDuty } from './reconciliation-duty.js';

/** The advisory lock whose holder runs reconciliation (per database). */
export const RECONCILIATION_LOCK_KEY = 0x6c62_7263; // "lbrc"

export interface ReconcilerDeps {
  pool: Queryable;
  created: RequestQueue;
  allowed: RequestQueue;
  statusReceived: RequestQueue<StatusReceivedJobData>;
  counters: Pick<PipelineCounters, 'add'>;
  /** The lock on RECONCILIATION_LOCK_KEY: only its holder reconciles. */
  leadership: AdvisoryLeadership;
}

/** Startup recovery and periodic reconciliation, on the instance that holds the lock (SPEC §6). */
export function startReconciler(context: AppContext, deps: ReconcilerDeps): void {
  const { config, logger, onShutdown } = context;
  const duty = startReconciliationDuty({
    leadership: deps.leadership,
    pass: () =>
      reconcile({
        db: deps.pool,
        created: deps.created,
        allowed: deps.allowed,
        statusReceived: deps.statusReceived,
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
