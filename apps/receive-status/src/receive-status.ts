import type { Logger } from 'pino';
import { readInboxEntry, rejectInboxReply, type Queryable } from '@linebacker/db';
import { validateStatusReply } from '@linebacker/domain';
import type { PipelineCounters, StatusReceivedJobData, StepOutcome } from '@linebacker/queues';
import { applyStatusReply } from './apply-reply.js';

export interface ReceiveStatusDeps {
  pool: Queryable;
  counters?: Pick<PipelineCounters, 'add'>;
}

/**
 * receive-status (SPEC §4): applies the reply of one inbox row in one transaction — Backup record
 * and Succeeded, Failed with the interface's message, success wins, replies for unknown or
 * unchecked requests kept as rejected replies — and marks the row applied in that transaction.
 * The reply is read from the inbox, not from the job, and validated again before anything is
 * applied: what reaches Postgres is only ever what the interface said.
 */
export async function receiveStatus(data: StatusReceivedJobData, deps: ReceiveStatusDeps, log: Logger): Promise<StepOutcome> {
  const entry = await readInboxEntry(deps.pool, data.inboxId);
  if (!entry || entry.applied) {
    log.debug({ inboxId: data.inboxId, found: Boolean(entry) }, 'reply already applied (or pruned): nothing to do');
    return 'no-op';
  }
  const parsed = validateStatusReply(entry.reply);
  if (!parsed.ok) {
    await rejectInboxReply(deps.pool, data.inboxId, parsed.reason);
    deps.counters?.add({ kind: 'reply', outcome: 'invalid' });
    log.warn({ inboxId: data.inboxId, reason: parsed.reason }, 'reply in the inbox is not valid: rejected');
    return 'done';
  }
  const { reply } = parsed;
  const { action, traceId } = await applyStatusReply(deps.pool, data.inboxId, reply);
  // the reply is matched back to the request's trace id, whether or not the interface echoed it
  const traced = traceId && traceId !== data.traceId ? log.child({ traceId }) : log;
  deps.counters?.add({ kind: 'reply', outcome: action.kind });
  if (action.kind === 'reject') traced.warn({ reason: action.reason, result: reply.resultTypeCode }, 'reply rejected');
  else traced.debug({ action: action.kind, result: reply.resultTypeCode }, 'reply applied');
  return action.kind === 'no-op' ? 'no-op' : 'done';
}

/**
 * When receive-status gives up on a reply (a permanent failure, or retries past the age limit), the
 * give-up is recorded where operators look: the inbox row is marked with it and the reply kept in
 * rejected_replies. (If even that fails, the job is retried later, and reconciliation wakes it again
 * while the row stays unapplied.)
 */
export const recordGiveUp =
  (deps: ReceiveStatusDeps) =>
  (data: StatusReceivedJobData, reason: string): Promise<void> =>
    rejectInboxReply(deps.pool, data.inboxId, `gave up: ${reason}`);
