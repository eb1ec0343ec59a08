import type { Logger } from 'pino';
import { checkRequest, type Queryable } from '@linebacker/db';
import { outboundMessage } from '@linebacker/domain';
import { requestJobData, type AllowedJobData, type RequestJobData, type StepOutcome } from '@linebacker/queues';

export interface CheckAllowedDeps {
  db: Queryable;
  /** Adds the request's job to `allowed` (jobId = request id, so adding twice is harmless). */
  enqueueAllowed: (data: AllowedJobData) => Promise<void>;
}

/**
 * check-allowed (SPEC §3): a Received request becomes Allowed (with its job's provider and
 * storage path) or NotAllowed (with the reason), in one statement, and an Allowed one goes on to
 * `allowed` with its outbound message, so that send-to-interface need not read it again.
 *
 * A request found already Allowed gets its `allowed` job added again: the previous attempt may have
 * died between recording Allowed and adding the job. Any other status means the step is done.
 */
export async function checkAllowed(data: RequestJobData, deps: CheckAllowedDeps, log: Logger): Promise<StepOutcome> {
  const checked = await checkRequest(deps.db, data.backupRequestId);
  if (!checked) {
    log.warn('no such backup request; nothing to check');
    return 'no-op';
  }
  const { request, changed } = checked;
  if (changed) log.debug({ status: request.status, reason: request.statusReason }, 'checked');
  if (request.status === 'Allowed') {
    await deps.enqueueAllowed({ ...requestJobData(request), message: outboundMessage(request) });
  }
  return changed ? 'done' : 'no-op';
}
