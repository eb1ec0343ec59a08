import type { Logger } from 'pino';
import { getBackupRequest, recordTransition, type Queryable } from '@linebacker/db';
import { outboundMessage } from '@linebacker/domain';
import type { MessageQueue, SendWindow } from '@linebacker/interface-queue';
import type { AllowedJobData, RequestJobData, StepJob, StepOutcome } from '@linebacker/queues';

export interface SendDeps {
  db: Queryable;
  requests: Pick<MessageQueue, 'send'>;
  /** Flow control: a send waits here while the interface queues are full (issue 10). */
  window: Pick<SendWindow, 'acquire'>;
}

/**
 * send-to-interface (SPEC §4): an Allowed request is sent to the interface request queue, then
 * recorded as Sent. A send first waits for room in the send window, so that while the interface
 * (or linebacker's own reply intake) is behind, the backlog waits in the `allowed` queue.
 *
 * On a job's first run the message comes from the job: check-allowed added the job right after it
 * committed Allowed, with the message, and only this job moves the request on from Allowed (a reply
 * comes only for a message sent; giving up comes only after retries). Any other run (a retry, a
 * stalled job run again, a job re-added by reconciliation) reads the request first and sends only
 * if it is still Allowed.
 *
 * Duplicates: when recording Sent fails (Postgres down) after the send, the job remembers the send
 * in Redis before it is retried, so the retry records Sent without sending again. A second message
 * can only go out if the process dies between the send and the Sent commit (or Redis fails just
 * then); the interface dedupes on `backupRequestId`, and a reply that overtakes the Sent
 * bookkeeping is still applied (Allowed → Succeeded | Failed).
 */
export async function sendToInterface(
  data: AllowedJobData,
  deps: SendDeps,
  log: Logger,
  job: StepJob<AllowedJobData>,
): Promise<StepOutcome> {
  // wait for room before reading: the request is read as it is when its turn comes
  const sendOver = data.messageSent ? undefined : await deps.window.acquire();
  try {
    let message = job.firstRun ? data.message : undefined;
    if (!message) {
      const request = await getBackupRequest(deps.db, data.backupRequestId);
      if (!request || request.status !== 'Allowed') return 'no-op';
      message = outboundMessage(request);
    }
    if (sendOver) await deps.requests.send(JSON.stringify(message));
  } finally {
    sendOver?.();
  }
  let updated;
  try {
    updated = await recordTransition(deps.db, { backupRequestId: data.backupRequestId, to: 'Sent' });
  } catch (err) {
    if (sendOver) await job.remember({ ...data, messageSent: true });
    throw err;
  }
  log.debug({ recorded: Boolean(updated) }, 'sent to the backup interface');
  return 'done';
}

/** After giving up (e.g. the interface unreachable for longer than the age limit): Allowed → Failed. */
export async function failUnsent(db: Queryable, data: RequestJobData, reason: string): Promise<void> {
  await recordTransition(db, { backupRequestId: data.backupRequestId, to: 'Failed', reason });
}
