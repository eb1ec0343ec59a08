import type { Logger } from 'pino';
import { failUnanswered, findRequestsInStatus, type Queryable, type StrandedRequest } from '@linebacker/db';
import type { PipelineCounters, RequestQueue } from '@linebacker/queues';

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

/**
 * Puts back the job of each request whose job is missing from its queue (or ended while the
 * request still waits for that step), so that a crash between COMMIT and add, a Redis restart or a
 * FLUSHALL heals by itself. Postgres decides: only requests still Received / Allowed are looked at,
 * and a job that is waiting, active or delayed is left alone, so no duplicate job is ever made.
 */
async function readdMissing(queue: RequestQueue, requests: StrandedRequest[]): Promise<number> {
  const jobs = await Promise.all(requests.map((request) => queue.getJob(request.backupRequestId)));
  const missing: StrandedRequest[] = [];
  for (const [i, job] of jobs.entries()) {
    const request = requests[i]!;
    if (!job) {
      missing.push(request);
    } else if ((await job.isCompleted()) || (await job.isFailed())) {
      await job.remove();
      missing.push(request);
    }
  }
  if (missing.length > 0) {
    await queue.addBulk(
      missing.map((request) => ({
        name: queue.name,
        data: { backupRequestId: request.backupRequestId, traceId: request.traceId, receivedAt: request.receivedAt.toISOString() },
        opts: { jobId: request.backupRequestId },
      })),
    );
  }
  return missing.length;
}

/** One reconciliation pass (SPEC §6): re-add stranded Received and Allowed requests, time out Sent ones. */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileResult> {
  const before = new Date(Date.now() - deps.graceMs);
  const received = await findRequestsInStatus(deps.db, 'Received', before, deps.batchSize);
  const readdedCreated = await readdMissing(deps.created, received);
  const allowed = await findRequestsInStatus(deps.db, 'Allowed', before, deps.batchSize);
  const readdedAllowed = await readdMissing(deps.allowed, allowed);
  const timedOut = (await failUnanswered(deps.db, deps.replyTimeoutMs, NO_REPLY_REASON, deps.batchSize)).length;
  const result = { readdedCreated, readdedAllowed, timedOut };
  deps.counters?.add('reconcile:readded:created', readdedCreated);
  deps.counters?.add('reconcile:readded:allowed', readdedAllowed);
  deps.counters?.add('reconcile:timed-out', timedOut);
  if (readdedCreated + readdedAllowed + timedOut > 0) deps.log.warn(result, 'reconciliation repaired requests');
  return result;
}
