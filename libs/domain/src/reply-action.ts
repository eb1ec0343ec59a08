import type { StatusReply } from './interface-messages.js';
import type { RequestStatus } from './request-status.js';

/** What receive-status does with a reply (SPEC §4 "Reply handling"). */
export type ReplyAction =
  /** not applied: kept as a rejected reply */
  | { kind: 'reject'; reason: string }
  /** insert the Backup, request → Succeeded */
  | { kind: 'record-backup' }
  /** a Backup exists: request → Succeeded whatever the reply says */
  | { kind: 'succeed' }
  /** request → Failed with the interface's message */
  | { kind: 'fail'; reason: string }
  /** nothing left to change */
  | { kind: 'no-op' };

export interface RequestForReply {
  status: RequestStatus;
  hasBackup: boolean;
  /** Copied from the backup job when the request was Allowed; the interface must answer for it. */
  storagePathName: string | null;
}

/**
 * Decision (SPEC §4 is silent): a reply, Succeeded or Failed, whose `storagePathName` is not the one
 * the request was sent with is not about that backup (a confused or hostile interface, or a reply
 * for another system's request id): it is rejected, kept in rejected_replies with this reason, and
 * the request is left as it was, so a Backup is never recorded at a path nobody asked for.
 */
export function storagePathMismatch(request: Pick<RequestForReply, 'storagePathName'>, reply: Pick<StatusReply, 'storagePathName'>): string | undefined {
  if (request.storagePathName === reply.storagePathName) return undefined;
  return `the reply's storagePathName ${JSON.stringify(reply.storagePathName)} differs from the request's ${JSON.stringify(request.storagePathName)}`;
}

export function replyAction(
  request: RequestForReply | undefined,
  reply: Pick<StatusReply, 'resultTypeCode' | 'messageText' | 'storagePathName'>,
): ReplyAction {
  if (!request) return { kind: 'reject', reason: 'unknown backup request' };
  if (request.status === 'Received' || request.status === 'NotAllowed') {
    return { kind: 'reject', reason: `reply for a request that is ${request.status}` };
  }
  const mismatch = storagePathMismatch(request, reply);
  if (mismatch) return { kind: 'reject', reason: mismatch };
  if (request.hasBackup) return request.status === 'Succeeded' ? { kind: 'no-op' } : { kind: 'succeed' };
  if (reply.resultTypeCode === 'Succeeded') return { kind: 'record-backup' };
  if (request.status === 'Allowed' || request.status === 'Sent') {
    return { kind: 'fail', reason: reply.messageText?.trim() || 'the backup interface reported a failure' };
  }
  return { kind: 'no-op' };
}
