import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';

/*
 * Where every accepted request of a pipeline test must end, and whether it did: the catalogue
 * decides NotAllowed (test jobs `active-a` / `active-b` are active, anything else is not), the
 * interface simulator decides Succeeded or Failed from the request id (simulatedOutcome), and
 * every Succeeded request has exactly one Backup.
 */

const TERMINAL = new Set(['NotAllowed', 'Succeeded', 'Failed']);
const ACTIVE_JOBS = new Set(['active-a', 'active-b']);

export interface RequestRow {
  id: string;
  backupJobId: string;
  status: string;
  backups: number;
}

export interface Outcomes {
  rows: RequestRow[];
  /** accepted ids with no row in Postgres */
  missing: string[];
  /** rows not in a terminal status */
  open: RequestRow[];
  /** terminal rows whose status is not the one predicted */
  wrong: RequestRow[];
  /** Succeeded without exactly one Backup, or a Backup of a request that did not succeed */
  badBackups: RequestRow[];
  byStatus: Record<string, number>;
}

export function predictedStatus(row: Pick<RequestRow, 'id' | 'backupJobId'>, failureRatio: number): string {
  if (!ACTIVE_JOBS.has(row.backupJobId)) return 'NotAllowed';
  const fate = simulatedOutcome(row.id, failureRatio, 0);
  return fate === 'Malformed' ? 'Failed' : fate;
}

export async function requestOutcomes(pool: pg.Pool, acceptedIds: string[], failureRatio: number): Promise<Outcomes> {
  const { rows } = await pool.query<RequestRow>(
    `SELECT r.backup_request_id AS id, r.backup_job_id AS "backupJobId", r.status, count(b.*)::int AS backups
     FROM backup_requests r LEFT JOIN backups b USING (backup_request_id)
     WHERE r.backup_request_id = ANY($1) GROUP BY 1, 2, 3`,
    [acceptedIds],
  );
  const found = new Set(rows.map((row) => row.id));
  const open = rows.filter((row) => !TERMINAL.has(row.status));
  return {
    rows,
    missing: acceptedIds.filter((id) => !found.has(id)),
    open,
    wrong: rows.filter((row) => TERMINAL.has(row.status) && row.status !== predictedStatus(row, failureRatio)),
    badBackups: rows.filter((row) => (row.status === 'Succeeded' ? row.backups !== 1 : row.backups !== 0)),
    byStatus: rows.reduce<Record<string, number>>((acc, row) => ({ ...acc, [row.status]: (acc[row.status] ?? 0) + 1 }), {}),
  };
}

/** Polls until every accepted request is terminal (or `timeoutMs` passed); returns the outcomes and how long it took. */
export async function waitUntilTerminal(pool: pg.Pool, acceptedIds: string[], failureRatio: number, timeoutMs: number): Promise<Outcomes & { waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const outcomes = await requestOutcomes(pool, acceptedIds, failureRatio);
    if ((outcomes.open.length === 0 && outcomes.missing.length === 0) || Date.now() - started > timeoutMs) {
      return { ...outcomes, waitedMs: Date.now() - started };
    }
    await sleep(500);
  }
}
