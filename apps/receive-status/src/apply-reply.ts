import {
  markApplied,
  markAppliedWhenMoved,
  readRequestForReply,
  recordBackupAndSucceed,
  recordTransition,
  rejectInboxReply,
  type Queryable,
} from '@linebacker/db';
import { replyAction, type ReplyAction, type RequestForReply, type RequestStatus, type StatusReply } from '@linebacker/domain';

/**
 * Carries out `action`, decided on the request as it was read in `status`, for the reply of inbox
 * row `inboxId`. Each action is one statement, so one transaction (SPEC §4): the Backup insert, the
 * move to Succeeded and the inbox row's mark happen together or not at all. A state change is
 * conditional on the request still being in `status`; `applied: false` when it was not (a
 * concurrent reply or reconciliation moved it meanwhile), and then the inbox row stays unapplied.
 * A state change also tells the request's trace id. With `carried` (the copy of the reply a
 * wake-up job carries, which `reply` was validated from), only a state change is carried out, and
 * only if the inbox row is unapplied and holds exactly that copy (markAppliedWhenMoved).
 */
async function carryOut(
  db: Queryable,
  inboxId: string,
  reply: StatusReply,
  action: ReplyAction,
  status: RequestStatus | undefined,
  carried?: unknown,
): Promise<{ applied: boolean; traceId?: string }> {
  // every change is also conditional on the request's storage path being the reply's (the Backup
  // insert's own gate checks it too): the usual case assumes it without reading the request
  const backupRequestId = reply.backupRequestId;
  const storagePathNameIs = reply.storagePathName;
  const from = status ? [status] : [];
  const moved = (recorded: { traceId: string } | undefined) => ({ applied: Boolean(recorded), traceId: recorded?.traceId });
  const alsoMarkApplied = markAppliedWhenMoved(inboxId, action.kind, carried);
  if (carried !== undefined && (action.kind === 'reject' || action.kind === 'no-op')) return { applied: false };
  switch (action.kind) {
    case 'reject':
      await rejectInboxReply(db, inboxId, action.reason);
      return { applied: true };
    case 'record-backup':
      return moved(await recordBackupAndSucceed(db, reply, from, alsoMarkApplied));
    case 'succeed':
      return moved(await recordTransition(db, { backupRequestId, to: 'Succeeded', from, storagePathNameIs }, undefined, alsoMarkApplied));
    case 'fail':
      return moved(await recordTransition(db, { backupRequestId, to: 'Failed', reason: action.reason, from, storagePathNameIs }, undefined, alsoMarkApplied));
    case 'no-op':
      await markApplied(db, inboxId, 'no-op');
      return { applied: true };
  }
}

/** Each retry means another change won a race; a request has few statuses to move through. */
const MAX_ROUNDS = 5;

/** The request as it nearly always is when its reply comes: Sent, without a Backup, sent for the reply's storage path. */
const awaitingReply = (reply: StatusReply): RequestForReply => ({ status: 'Sent', hasBackup: false, storagePathName: reply.storagePathName });

export interface AppliedReply {
  action: ReplyAction;
  traceId: string | undefined;
}

/**
 * The usual case in one round trip: the reply table's decision for a request that awaits the reply
 * (Sent, no Backup, the reply's storage path), carried out conditionally on that (and, with
 * `carried`, on the inbox row holding that copy: carryOut). Undefined when the request (or the row)
 * was not so.
 */
async function applyAsAwaited(db: Queryable, inboxId: string, reply: StatusReply, carried?: unknown): Promise<AppliedReply | undefined> {
  const assumed = awaitingReply(reply);
  const action = replyAction(assumed, reply);
  const done = await carryOut(db, inboxId, reply, action, assumed.status, carried);
  return done.applied ? { action, traceId: done.traceId } : undefined;
}

/**
 * Applies the copy of its reply that a wake-up job carries (payloads.ts), without reading the
 * inbox row: `reply` is what `carried` validated to. Only the usual case (applyAsAwaited), and only
 * if the row is unapplied and holds exactly `carried`; undefined otherwise, and then the caller
 * reads the row and applies what it holds (applyStatusReply).
 */
export const applyCarriedReply = (db: Queryable, inboxId: string, reply: StatusReply, carried: unknown): Promise<AppliedReply | undefined> =>
  applyAsAwaited(db, inboxId, reply, carried);

/**
 * Applies the reply of inbox row `inboxId` (SPEC §4) and marks the row applied with it. First, in
 * one round trip, as if the request awaits it (Sent, no Backup, the reply's storage path: the usual
 * case), the decision of the reply table (libs/domain replyAction) is carried out conditionally on
 * that status and storage path. When the
 * request is not in that state, it reads the request, decides with the reply table, and carries the
 * decision out in one conditional statement; when the request changed in between (concurrent
 * replies for one request), it reads and decides again, so replies for one request apply one after
 * the other, as with a row lock, without holding a transaction open across round trips. Returns
 * what was done, and the request's trace id (replies need not carry it); a rejected reply is kept in
 * rejected_replies.
 */
export async function applyStatusReply(db: Queryable, inboxId: string, reply: StatusReply): Promise<AppliedReply> {
  const first = await applyAsAwaited(db, inboxId, reply);
  if (first) return first;
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const request = await readRequestForReply(db, reply.backupRequestId);
    let action = replyAction(request, reply);
    if (action.kind === 'record-backup' && !request?.jobExists) {
      action = { kind: 'reject', reason: 'the backup job of this request no longer exists' };
    }
    if ((await carryOut(db, inboxId, reply, action, request?.status)).applied) return { action, traceId: request?.traceId };
  }
  throw new Error(`backup request ${reply.backupRequestId} changed under every one of ${MAX_ROUNDS} attempts to apply a reply`);
}
