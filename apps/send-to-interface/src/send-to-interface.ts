import type { Logger } from 'pino';
import { getBackupRequest, recordTransition, type Queryable } from '@linebacker/db';
import { outboundMessage } from '@linebacker/domain';
import type { MessageQueue } from '@linebacker/interface-queue';
import type { RequestJobData, StepOutcome } from '@linebacker/queues';

export interface SendDeps {
  db: Queryable;
  requests: Pick<MessageQueue, 'send'>;
}

/**
 * send-to-interface (SPEC §4): an Allowed request is sent to the interface request queue, then
 * recorded as Sent. A crash or a Postgres failure between the two steps means the message is sent
 * again on retry; the interface dedupes on `backupRequestId`, and a reply that overtakes the Sent
 * bookkeeping is still applied (Allowed → Succeeded | Failed). The window is one UPDATE long.
 */
export async function sendToInterface(data: RequestJobData, deps: SendDeps, log: Logger): Promise<StepOutcome> {
  const request = await getBackupRequest(deps.db, data.backupRequestId);
  if (!request || request.status !== 'Allowed') return 'no-op';
  await deps.requests.send(JSON.stringify(outboundMessage(request)));
  const updated = await recordTransition(deps.db, { backupRequestId: request.backupRequestId, to: 'Sent' });
  log.info({ recorded: Boolean(updated) }, 'sent to the backup interface');
  return 'done';
}

/** After giving up (e.g. the interface unreachable for longer than the age limit): Allowed → Failed. */
export async function failUnsent(db: Queryable, data: RequestJobData, reason: string): Promise<void> {
  await recordTransition(db, { backupRequestId: data.backupRequestId, to: 'Failed', reason });
}
