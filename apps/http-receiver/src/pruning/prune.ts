import type { Logger } from 'pino';
import type { Config } from '@linebacker/config';
import { EXPIRING_ROWS, deleteExpiredRows, type ExpiringRows, type Queryable } from '@linebacker/db';
import type { PipelineCounters } from '@linebacker/queues';

/**
 * Most DELETE batches per table in one pass (with the default batch, 20,000 rows a minute per
 * table): a pass stays short, because shutdown waits for it. A pass that reaches it says that
 * pruning is behind, and the next one goes on where it stopped.
 */
export const MAX_BATCHES_PER_PASS = 20;

export interface PruneDeps {
  db: Queryable;
  /** Seconds each kind of row is kept (LINEBACKER_*_RETENTION_S). */
  retentionS: Config['pruning']['retentionS'];
  /** Rows per DELETE statement. */
  batchSize: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
  /** The tables to prune (default: every table of EXPIRING_ROWS, libs/db). */
  tables?: readonly ExpiringRows[];
}

/**
 * One pruning pass (SPEC §6: bookkeeping tables are pruned by the leader): for each table, deletes
 * its expired rows in batches of `batchSize`, each its own short statement, until a batch comes back
 * short. Counts what it deleted per table (`linebacker_pruned_rows_total{table}`) and returns it.
 */
export async function prune(deps: PruneDeps): Promise<Record<string, number>> {
  const pruned: Record<string, number> = {};
  for (const rows of deps.tables ?? EXPIRING_ROWS) {
    let deleted = 0;
    let batch = 0;
    for (let batches = 0; batches < MAX_BATCHES_PER_PASS && (batches === 0 || batch === deps.batchSize); batches += 1) {
      batch = await deleteExpiredRows(deps.db, rows, deps.retentionS[rows.retention], deps.batchSize);
      deleted += batch;
    }
    pruned[rows.table] = deleted;
    if (deleted > 0) deps.counters?.add({ kind: 'pruned', table: rows.table }, deleted);
    if (batch === deps.batchSize) {
      deps.log.warn({ table: rows.table, deleted }, 'pruning is behind: expired rows remain for the next pass');
    }
  }
  if (Object.values(pruned).some((deleted) => deleted > 0)) deps.log.info({ pruned }, 'pruned expired rows');
  return pruned;
}
