import { QUEUES } from '@linebacker/queues';
import type { Admission, HealthSnapshot } from '../health/health-schemas.js';

/**
 * Admission control (SPEC §6 "Overload", README "Reliability"): whether the receiver takes new
 * backup requests, decided from the /healthz snapshot it already holds in memory, so it costs no
 * Redis or Postgres call per request.
 */
export interface AdmissionLimits {
  /** Refuse when more jobs than this wait in `created`, `allowed` and `status-received` together; 0: no limit. */
  maxBacklog: number;
  /** Refuse when the oldest waiting job of `created` or `status-received` is older than this; 0: no limit. */
  maxWaitSeconds: number;
  /**
   * Refuse also when the backlog is more than this many seconds of work at the pipeline's drain
   * capacity (drain-capacity.ts), but never under `minBacklog` jobs; 0: no such limit. A bound in
   * jobs is a drain time for one machine only; this one holds on a slow box and a fast one.
   */
  maxDrainSeconds: number;
  minBacklog: number;
  /**
   * A snapshot older than this means its refresh is stuck (a Redis that stopped answering, say):
   * refusing on frozen figures could refuse for good, so such a snapshot admits.
   */
  staleAfterMs: number;
}

/** Every queue of the pipeline: a bounded backlog is a bounded drain time once the load drops. */
const BACKLOG_QUEUES = [QUEUES.created, QUEUES.allowed, QUEUES.statusReceived] as const;
/**
 * The queues whose oldest waiting job says how far behind the pipeline is. Not `allowed`: while the
 * backup interface is down or held back its jobs wait by design, and requests are still taken up to
 * the backlog limit (they are checked, and wait for the interface, in the meantime).
 */
const WAIT_QUEUES = [QUEUES.created, QUEUES.statusReceived] as const;

const ACCEPTING: Admission = { accepting: true, reason: null };

/** Jobs waiting in every queue of the pipeline, as a snapshot counts them. */
export const backlogOf = (snapshot: Pick<HealthSnapshot, 'queues'>): number =>
  BACKLOG_QUEUES.reduce((sum, queue) => sum + (snapshot.queues[queue]?.waiting ?? 0), 0);

/**
 * The backlog limit: `maxBacklog`, or less when the drain capacity (requests per second the
 * pipeline finishes, undefined while unknown) makes `maxDrainSeconds` of work fewer jobs; then it
 * carries that capacity. 0 jobs: none.
 */
function backlogLimit(limits: AdmissionLimits, drainPerSecond: number | undefined): { jobs: number; drainPerSecond?: number } {
  if (limits.maxDrainSeconds === 0 || drainPerSecond === undefined) return { jobs: limits.maxBacklog };
  const drainJobs = Math.max(limits.minBacklog, Math.round(drainPerSecond * limits.maxDrainSeconds));
  return limits.maxBacklog === 0 || drainJobs < limits.maxBacklog ? { jobs: drainJobs, drainPerSecond } : { jobs: limits.maxBacklog };
}

/**
 * Accepting unless a limit is passed. No snapshot yet (startup), a stale one, or one without queue
 * figures (Redis down) admits: requests are accepted while Redis is down (SPEC §5.1).
 */
export function decideAdmission(
  snapshot: Pick<HealthSnapshot, 'generatedAt' | 'queues'> | undefined,
  limits: AdmissionLimits,
  now: number,
  drainPerSecond?: number,
): Admission {
  if (!snapshot || now - Date.parse(snapshot.generatedAt) > limits.staleAfterMs) return ACCEPTING;
  const reasons: string[] = [];
  if (limits.maxWaitSeconds > 0) {
    const [oldest] = WAIT_QUEUES.map((queue) => ({ queue, age: snapshot.queues[queue]?.oldestWaitingAgeSeconds ?? 0 })).sort(
      (a, b) => b.age - a.age,
    );
    if (oldest && oldest.age > limits.maxWaitSeconds) {
      reasons.push(`the pipeline is ${oldest.age} s behind (the oldest job waiting in ${oldest.queue}; limit ${limits.maxWaitSeconds} s)`);
    }
  }
  const limit = backlogLimit(limits, drainPerSecond);
  if (limit.jobs > 0) {
    const backlog = backlogOf(snapshot);
    if (backlog > limit.jobs) {
      const waiting = `the pipeline has ${backlog} jobs waiting (in ${BACKLOG_QUEUES.join(', ')}`;
      reasons.push(
        limit.drainPerSecond !== undefined
          ? `${waiting}), ${Math.round(backlog / limit.drainPerSecond)} s of work at the ${Math.round(limit.drainPerSecond)} requests/s it finishes (limit ${limits.maxDrainSeconds} s)`
          : `${waiting}; limit ${limit.jobs})`,
      );
    }
  }
  return reasons.length === 0 ? ACCEPTING : { accepting: false, reason: reasons.join('; ') };
}
