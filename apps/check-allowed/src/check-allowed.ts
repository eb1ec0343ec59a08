import type { Logger } from 'pino';
import { getRequestWithJob, recordTransition, type Queryable } from '@linebacker/db';
import { allowDecision } from '@linebacker/domain';
import type { RequestJobData, StepOutcome } from '@linebacker/queues';

export interface CheckAllowedDeps {
  db: Queryable;
  /** Adds the request's job to `allowed` (jobId = request id, so adding twice is harmless). */
  enqueueAllowed: (data: RequestJobData) => Promise<void>;
}

/**
 * check-allowed (SPEC §3): a Received request becomes Allowed (with its job's provider and
 * storage path) or NotAllowed (with the reason), and an Allowed one goes on to `allowed`.
 *
 * A request found already Allowed gets its `allowed` job added again: the previous attempt may have
 * died between recording Allowed and adding the job. Any other status means the step is done.
 */
export async function checkAllowed(data: RequestJobData, deps: CheckAllowedDeps, log: Logger): Promise<StepOutcome> {
  const found = await getRequestWithJob(deps.db, data.backupRequestId);
  if (!found) {
    log.warn('no such backup request; nothing to check');
    return 'no-op';
  }
  const { request, job } = found;
  const next: RequestJobData = {
    backupRequestId: request.backupRequestId,
    traceId: request.traceId,
    receivedAt: request.receivedAt.toISOString(),
  };
  if (request.status === 'Allowed') {
    await deps.enqueueAllowed(next);
    return 'no-op';
  }
  if (request.status !== 'Received') return 'no-op';

  const decision = allowDecision(job);
  const updated = await recordTransition(
    deps.db,
    decision.allowed && job
      ? {
          backupRequestId: request.backupRequestId,
          to: 'Allowed',
          backupProviderCode: job.backupProviderCode,
          storagePathName: job.storagePathName,
        }
      : { backupRequestId: request.backupRequestId, to: 'NotAllowed', reason: decision.allowed ? undefined : decision.reason },
  );
  if (!updated) return 'no-op'; // another instance got there first
  log.debug({ status: updated.status, reason: updated.statusReason }, 'checked');
  if (updated.status === 'Allowed') await deps.enqueueAllowed(next);
  return 'done';
}
