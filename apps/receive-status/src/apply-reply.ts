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
 * A state change also tells the request's trace id.
 */
async function carryOut(
  db: Queryable,
  inboxId: string,
  reply: StatusReply,
  action: ReplyAction,
  status: RequestStatus | undefined,
): Promise<{ applied: boolean; traceId?: string }> {
  // every change is also conditional on the request's storage path being the reply's (the Backup
  // insert's own gate checks it too): the usual case assumes it without reading the request
  const backupRequestId = reply.backupRequestId;
  const storagePathNameIs = reply.storagePathName;
  const from = status ? [status] : [];
  const moved = (recorded: { traceId: string } | undefined) => ({ applied: Boolean(recorded), traceId: recorded?.traceId });
  const alsoMarkApplied = markAppliedWhenMoved(inboxId, action.kind);
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
export async function applyStatusReply(
  db: Queryable,
  inboxId: string,
  reply: StatusReply,
): Promise<{ action: ReplyAction; traceId: string | undefined }> {
  const assumed = awaitingReply(reply);
  const usual = replyAction(assumed, reply);
  const first = await carryOut(db, inboxId, reply, usual, assumed.status);
  if (first.applied) return { action: usual, traceId: first.traceId };
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
