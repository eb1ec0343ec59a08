import type { Logger } from 'pino';
import {
  findRequestsInStatus,
  findUnappliedReplies,
  findUnanswered,
  recordTransitions,
  repliesStillUnapplied,
  requestsStillInStatus,
  type Queryable,
  type StrandedRequest,
} from '@linebacker/db';
import type { RequestStatus } from '@linebacker/domain';
import {
  requestJobData,
  statusReceivedJobData,
  statusReceivedJobId,
  type PipelineCounters,
  type RequestJobData,
  type RequestQueue,
  type StatusReceivedJobData,
  type WakeupPublisher,
} from '@linebacker/queues';

export interface ReconcileDeps {
  db: Queryable;
  created: RequestQueue;
  allowed: RequestQueue;
  statusReceived: RequestQueue<StatusReceivedJobData>;
  graceMs: number;
  batchSize: number;
  replyTimeoutMs: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
  /** Woken when reply timeouts changed statuses (their events). */
  wakeups?: Pick<WakeupPublisher, 'notify'>;
}

export interface ReconcileResult {
  readdedCreated: number;
  readdedAllowed: number;
  readdedReplies: number;
  timedOut: number;
}

export const NO_REPLY_REASON = 'no reply from backup interface';

/** Work waiting in Postgres whose job may be missing from Redis: the job to put back. */
interface Stranded<T extends RequestJobData> {
  jobId: string;
  data: T;
}

/** A stranded entry of the snapshot whose job is not pending: missing from the queue, or ended. */
interface Jobless<T extends RequestJobData> extends Stranded<T> {
  jobEnded: boolean;
}

/**
 * Puts back the job of each entry of `snapshot` whose job is missing from its queue, or ended while
 * the work still waits (`stillStranded` re-reads that in Postgres after the jobs were looked at), so
 * that a crash between COMMIT and add, a Redis restart or a FLUSHALL heals by itself. A job that is
 * waiting, active, delayed, prioritized or waiting for children is left alone, so no duplicate job
 * is ever made. Returns how many jobs it added.
 */
async function readdMissing<T extends RequestJobData>(
  queue: RequestQueue<T>,
  snapshot: Stranded<T>[],
  stillStranded: (jobless: Jobless<T>[]) => Promise<Jobless<T>[]>,
): Promise<number> {
  const jobless = await withoutPendingJob(queue, snapshot);
  const stranded = jobless.length === 0 ? [] : await stillStranded(jobless);
  if (stranded.length > 0) await readd(queue, stranded);
  return stranded.length;
}

/**
 * The entries whose job is missing or ended. One getJobState (one script) per job, all issued at
 * once: they travel pipelined on the queue's connection instead of one round trip after another.
 */
async function withoutPendingJob<T extends RequestJobData>(queue: RequestQueue<T>, snapshot: Stranded<T>[]): Promise<Jobless<T>[]> {
  const states = await Promise.all(snapshot.map((entry) => queue.getJobState(entry.jobId)));
  return snapshot.flatMap((entry, i): Jobless<T>[] => {
    switch (states[i]) {
      case 'unknown':
        return [{ ...entry, jobEnded: false }];
      case 'completed':
      case 'failed':
        return [{ ...entry, jobEnded: true }];
      default:
        return [];
    }
  });
}

/** Adds the jobs again, first removing ended ones so that their id is free. */
async function readd<T extends RequestJobData>(queue: RequestQueue<T>, stranded: Jobless<T>[]): Promise<void> {
  await Promise.all(stranded.filter((entry) => entry.jobEnded).map((entry) => queue.remove(entry.jobId)));
  const jobs = stranded.map((entry) => ({ name: queue.name, data: entry.data, opts: { jobId: entry.jobId } }));
  // (BullMQ types addBulk's jobs through conditional types a generic T does not resolve)
  await queue.addBulk(jobs as Parameters<RequestQueue<T>['addBulk']>[0]);
}

/**
 * Re-adds the jobs of `requests` (a snapshot of those in `status`: Received for `created`, Allowed
 * for `allowed`) whose jobs are missing or ended. A step
 * commits its transition before its job completes, so a request still in the old status after its
 * job was seen completed is really stranded; one that moved on since the snapshot was finished by
 * its step while this pass looked (common under load, when the backlog is long) must not get a job
 * again.
 */
export async function readdStrandedRequests(
  queue: RequestQueue,
  db: Queryable,
  status: Extract<RequestStatus, 'Received' | 'Allowed'>,
  requests: StrandedRequest[],
): Promise<number> {
  const snapshot = requests.map((request) => ({ jobId: request.backupRequestId, data: requestJobData(request) }));
  return readdMissing(queue, snapshot, async (jobless) => {
    const still = new Set(await requestsStillInStatus(db, jobless.map((entry) => entry.jobId), status));
    return jobless.filter((entry) => still.has(entry.jobId));
  });
}

/**
 * Re-adds the wake-up job of every inbox reply not yet applied (SPEC §4): after a Redis flush,
 * restart or failover, or a receiver that died between storing replies and adding their jobs, every
 * reply taken off the interface queue is still applied.
 */
async function readdReplies(queue: RequestQueue<StatusReceivedJobData>, db: Queryable, before: Date, limit: number): Promise<number> {
  const replies = await findUnappliedReplies(db, before, limit);
  const snapshot = replies.map((reply) => ({ jobId: statusReceivedJobId(reply.inboxId), data: statusReceivedJobData(reply) }));
  return readdMissing(queue, snapshot, async (jobless) => {
    const still = new Set(await repliesStillUnapplied(db, jobless.map((entry) => entry.data.inboxId)));
    return jobless.filter((entry) => still.has(entry.data.inboxId));
  });
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

/**
 * One reconciliation pass (SPEC §4, §6): re-add the jobs of stranded Received and Allowed requests
 * and of inbox replies not applied, time out Sent requests.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const before = new Date(Date.now() - deps.graceMs);
  const received = await findRequestsInStatus(deps.db, 'Received', before, deps.batchSize);
  const readdedCreated = await readdStrandedRequests(deps.created, deps.db, 'Received', received);
  const allowed = await findRequestsInStatus(deps.db, 'Allowed', before, deps.batchSize);
  const readdedAllowed = await readdStrandedRequests(deps.allowed, deps.db, 'Allowed', allowed);
  const readdedReplies = await readdReplies(deps.statusReceived, deps.db, before, deps.batchSize);
  const timedOut = (await failUnanswered(deps.db, deps.replyTimeoutMs, deps.batchSize)).length;
  if (timedOut > 0) deps.wakeups?.notify();
  const result = { readdedCreated, readdedAllowed, readdedReplies, timedOut };
  deps.counters?.add({ kind: 'reconcile', repair: 'readded:created' }, readdedCreated);
  deps.counters?.add({ kind: 'reconcile', repair: 'readded:allowed' }, readdedAllowed);
  deps.counters?.add({ kind: 'reconcile', repair: 'readded:status-received' }, readdedReplies);
  deps.counters?.add({ kind: 'reconcile', repair: 'timed-out' }, timedOut);
  if (readdedCreated + readdedAllowed + readdedReplies + timedOut > 0) deps.log.warn(result, 'reconciliation repaired requests');
  return result;
}
