import type { Logger } from 'pino';
import type { Queryable } from '@linebacker/db';
import type { PipelineCounters, StatusReceivedJobData, StepOutcome } from '@linebacker/queues';
import { applyStatusReply } from './apply-reply.js';

/**
 * receive-status (SPEC §4): applies one reply from the backup interface in one transaction —
 * Backup record and Succeeded, Failed with the interface's message, success wins, and replies for
 * unknown or unchecked requests kept as rejected replies.
 */
export async function receiveStatus(
  data: StatusReceivedJobData,
  deps: { pool: Queryable; counters?: Pick<PipelineCounters, 'add'> },
  log: Logger,
): Promise<StepOutcome> {
  const { action, traceId } = await applyStatusReply(deps.pool, data.reply);
  // the reply is matched back to the request's trace id, whether or not the interface echoed it
  const traced = traceId && traceId !== data.traceId ? log.child({ traceId }) : log;
  deps.counters?.add({ kind: 'reply', outcome: action.kind });
  if (action.kind === 'reject') traced.warn({ reason: action.reason, result: data.reply.resultTypeCode }, 'reply rejected');
  else traced.debug({ action: action.kind, result: data.reply.resultTypeCode }, 'reply applied');
  return action.kind === 'no-op' ? 'no-op' : 'done';
}
