import type { Logger } from 'pino';
import { getBackupRequest, recordTransition, type Queryable } from '@linebacker/db';
import { outboundMessage } from '@linebacker/domain';
import type { MessageQueue } from '@linebacker/interface-queue';
import type { AllowedJobData, RequestJobData, StepJob, StepOutcome } from '@linebacker/queues';

export interface SendDeps {
  db: Queryable;
  requests: Pick<MessageQueue, 'send'>;
}

/**
 * send-to-interface (SPEC §4): an Allowed request is sent to the interface request queue, then
 * recorded as Sent.
 *
 * Duplicates: right after the send, the job remembers it in Redis (one write), so a retry after a
 * failed Sent UPDATE (Postgres down) records Sent without sending again. A second message can only
 * go out if the process dies in the millisecond between the send and that write (or Redis fails
 * just then); the interface dedupes on `backupRequestId`, and a reply that overtakes the Sent
 * bookkeeping is still applied (Allowed → Succeeded | Failed).
 */
export async function sendToInterface(
  data: AllowedJobData,
  deps: SendDeps,
  log: Logger,
  job: StepJob<AllowedJobData>,
): Promise<StepOutcome> {
  const request = await getBackupRequest(deps.db, data.backupRequestId);
  if (!request || request.status !== 'Allowed') return 'no-op';
  if (!data.messageSent) {
    await deps.requests.send(JSON.stringify(outboundMessage(request)));
    await job.remember({ ...data, messageSent: true });
  }
  const updated = await recordTransition(deps.db, { backupRequestId: request.backupRequestId, to: 'Sent' });
  log.info({ recorded: Boolean(updated) }, 'sent to the backup interface');
  return 'done';
}

/** After giving up (e.g. the interface unreachable for longer than the age limit): Allowed → Failed. */
export async function failUnsent(db: Queryable, data: RequestJobData, reason: string): Promise<void> {
  await recordTransition(db, { backupRequestId: data.backupRequestId, to: 'Failed', reason });
}
