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
}

export function replyAction(request: RequestForReply | undefined, reply: Pick<StatusReply, 'resultTypeCode' | 'messageText'>): ReplyAction {
  if (!request) return { kind: 'reject', reason: 'unknown backup request' };
  if (request.status === 'Received' || request.status === 'NotAllowed') {
    return { kind: 'reject', reason: `reply for a request that is ${request.status}` };
  }
  if (request.hasBackup) return request.status === 'Succeeded' ? { kind: 'no-op' } : { kind: 'succeed' };
  if (reply.resultTypeCode === 'Succeeded') return { kind: 'record-backup' };
  if (request.status === 'Allowed' || request.status === 'Sent') {
    return { kind: 'fail', reason: reply.messageText?.trim() || 'the backup interface reported a failure' };
  }
  return { kind: 'no-op' };
}
