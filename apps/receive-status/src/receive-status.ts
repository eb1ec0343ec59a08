import type { Logger } from 'pino';
import { applyStatusReply, type Pool } from '@linebacker/db';
import type { StatusReceivedJobData, StepOutcome } from '@linebacker/queues';

/**
 * receive-status (SPEC §4): applies one reply from the backup interface in one transaction —
 * Backup record and Succeeded, Failed with the interface's message, success wins, and replies for
 * unknown or unchecked requests kept as rejected replies.
 */
export async function receiveStatus(data: StatusReceivedJobData, deps: { pool: Pool }, log: Logger): Promise<StepOutcome> {
  const action = await applyStatusReply(deps.pool, data.reply);
  if (action.kind === 'reject') log.warn({ reason: action.reason, result: data.reply.resultTypeCode }, 'reply rejected');
  else log.info({ action: action.kind, result: data.reply.resultTypeCode }, 'reply applied');
  return action.kind === 'no-op' ? 'no-op' : 'done';
}
