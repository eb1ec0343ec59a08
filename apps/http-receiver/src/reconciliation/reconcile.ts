import type { Logger } from 'pino';
import { findRequestsInStatus, findUnanswered, recordTransitions, requestsStillInStatus, type Queryable, type StrandedRequest } from '@linebacker/db';
import type { RequestStatus } from '@linebacker/domain';
import { requestJobData, type PipelineCounters, type RequestQueue } from '@linebacker/queues';

export interface ReconcileDeps {
  db: Queryable;
  created: RequestQueue;
  allowed: RequestQueue;
  graceMs: number;
  batchSize: number;
  replyTimeoutMs: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
}

export interface ReconcileResult {
  readdedCreated: number;
  readdedAllowed: number;
  timedOut: number;
}

export const NO_REPLY_REASON = 'no reply from backup interface';

type ReconciledStatus = Extract<RequestStatus, 'Received' | 'Allowed'>;

/** A request of the snapshot whose job is not pending: missing from the queue, or ended. */
interface JoblessRequest extends StrandedRequest {
  jobEnded: boolean;
}

/**
 * Puts back the job of each request of `snapshot` (read in `status`) whose job is missing from its
 * queue, or ended while the request still waits for that step, so that a crash between COMMIT and
 * add, a Redis restart or a FLUSHALL heals by itself. A job that is waiting, active, delayed,
 * prioritized or waiting for children is left alone, so no duplicate job is ever made. Returns how
 * many jobs it added.
 */
export async function readdMissing(
  queue: RequestQueue,
  db: Queryable,
  status: ReconciledStatus,
  snapshot: StrandedRequest[],
): Promise<number> {
  const jobless = await withoutPendingJob(queue, snapshot);
  const stranded = await stillInStatus(db, status, jobless);
  if (stranded.length > 0) await readd(queue, stranded);
  return stranded.length;
}

/**
 * The requests whose job is missing or ended. One getJobState (one script) per job, all issued at
 * once: they travel pipelined on the queue's connection instead of one round trip after another.
 */
async function withoutPendingJob(queue: RequestQueue, requests: StrandedRequest[]): Promise<JoblessRequest[]> {
  const states = await Promise.all(requests.map((request) => queue.getJobState(request.backupRequestId)));
  return requests.flatMap((request, i): JoblessRequest[] => {
    switch (states[i]) {
      case 'unknown':
        return [{ ...request, jobEnded: false }];
      case 'completed':
      case 'failed':
        return [{ ...request, jobEnded: true }];
      default:
        return [];
    }
  });
}

/**
 * Those of `requests` that are still in `status`, read after their jobs' states. A step commits its
 * transition before its job completes, so a request still in the old status after its job was seen
 * completed is really stranded; one that moved on since the snapshot was finished by its step while
 * this pass looked (common under load, when the backlog is long) and must not get a job again.
 */
async function stillInStatus(db: Queryable, status: ReconciledStatus, requests: JoblessRequest[]): Promise<JoblessRequest[]> {
  if (requests.length === 0) return [];
  const still = new Set(await requestsStillInStatus(db, requests.map((request) => request.backupRequestId), status));
  return requests.filter((request) => still.has(request.backupRequestId));
}

/** Adds the jobs again (jobId = request id), first removing ended ones so that their id is free. */
async function readd(queue: RequestQueue, requests: JoblessRequest[]): Promise<void> {
  await Promise.all(requests.filter((request) => request.jobEnded).map((request) => queue.remove(request.backupRequestId)));
  await queue.addBulk(
    requests.map((request) => ({
      name: queue.name,
      data: requestJobData(request),
      opts: { jobId: request.backupRequestId },
    })),
  );
}

/**
 * The reply timeout (SPEC §6): Sent requests without a reply for `timeoutMs` become Failed ("no
 * reply from backup interface"), through the one transition statement and its rules, conditionally
 * on still being Sent (a reply applied meanwhile wins). A later success reply still wins (Failed →
 * Succeeded). Returns the ids that moved.
 */
export async function failUnanswered(db: Queryable, timeoutMs: number, limit: number): Promise<string[]> {
  const due = await findUnanswered(db, timeoutMs, limit);
  return due.length === 0 ? [] : recordTransitions(db, due, { to: 'Failed', reason: NO_REPLY_REASON, from: ['Sent'] });
}

/** One reconciliation pass (SPEC §6): re-add stranded Received and Allowed requests, time out Sent ones. */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const before = new Date(Date.now() - deps.graceMs);
  const received = await findRequestsInStatus(deps.db, 'Received', before, deps.batchSize);
  const readdedCreated = await readdMissing(deps.created, deps.db, 'Received', received);
  const allowed = await findRequestsInStatus(deps.db, 'Allowed', before, deps.batchSize);
  const readdedAllowed = await readdMissing(deps.allowed, deps.db, 'Allowed', allowed);
  const timedOut = (await failUnanswered(deps.db, deps.replyTimeoutMs, deps.batchSize)).length;
  const result = { readdedCreated, readdedAllowed, timedOut };
  deps.counters?.add({ kind: 'reconcile', repair: 'readded:created' }, readdedCreated);
  deps.counters?.add({ kind: 'reconcile', repair: 'readded:allowed' }, readdedAllowed);
  deps.counters?.add({ kind: 'reconcile', repair: 'timed-out' }, timedOut);
  if (readdedCreated + readdedAllowed + timedOut > 0) deps.log.warn(result, 'reconciliation repaired requests');
  return result;
}
