import type { Logger } from 'pino';
import { readInboxEntry, rejectInboxReply, type Queryable } from '@linebacker/db';
import { validateStatusReply, type StatusReply } from '@linebacker/domain';
import type { PipelineCounters, StatusReceivedJobData, StepOutcome } from '@linebacker/queues';
import { applyCarriedReply, applyStatusReply, type AppliedReply } from './apply-reply.js';

export interface ReceiveStatusDeps {
  pool: Queryable;
  counters?: Pick<PipelineCounters, 'add'>;
}

/**
 * receive-status (SPEC §4): applies the reply of one inbox row in one transaction — Backup record
 * and Succeeded, Failed with the interface's message, success wins, replies for unknown or
 * unchecked requests kept as rejected replies — and marks the row applied in that transaction.
 * What reaches Postgres is only ever what the interface said: the reply is validated again, and it
 * is either read from the inbox or, in the usual case, the copy the job carries, applied only if
 * the inbox row holds exactly that copy (apply-reply.ts applyCarriedReply); otherwise the row is
 * read.
 */
export async function receiveStatus(data: StatusReceivedJobData, deps: ReceiveStatusDeps, log: Logger): Promise<StepOutcome> {
  const carried = data.reply === undefined ? undefined : validateStatusReply(data.reply);
  if (carried?.ok) {
    const applied = await applyCarriedReply(deps.pool, data.inboxId, carried.reply, data.reply);
    if (applied) return reported(applied, carried.reply, data, deps, log);
  }
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
  return reported(await applyStatusReply(deps.pool, data.inboxId, parsed.reply), parsed.reply, data, deps, log);
}

/** Counts and logs what was done with a reply. */
function reported(
  { action, traceId }: AppliedReply,
  reply: StatusReply,
  data: StatusReceivedJobData,
  deps: ReceiveStatusDeps,
  log: Logger,
): StepOutcome {
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
