import type { OutboundBackupRequest, StatusReply } from '@linebacker/domain';

/**
 * Job payloads. Jobs are keyed by the backup request id (SPEC §6), so adding the same request twice
 * is harmless. `attempt` is our own retry counter (moveToDelayed does not count attempts);
 * `receivedAt` (ISO) dates the request, for the retry age limit.
 */
export interface RequestJobData {
  backupRequestId: string;
  traceId: string;
  receivedAt?: string;
  attempt?: number;
}

/** An `allowed` job, as check-allowed adds it right after recording Allowed. */
export interface AllowedJobData extends RequestJobData {
  /** The outbound message (SPEC §4), so that the first run sends it without reading the request. */
  message?: OutboundBackupRequest;
  /** Remembered when recording Sent failed after the send, so that the retry only records Sent. */
  messageSent?: boolean;
}

/** A reply taken from the interface status queue, on its way to receive-status. */
export interface StatusReceivedJobData extends RequestJobData {
  reply: StatusReply;
}

/** The payload of a request's job (created, allowed), from the request as stored. */
export const requestJobData = (request: { backupRequestId: string; traceId: string; receivedAt: Date }): RequestJobData => ({
  backupRequestId: request.backupRequestId,
  traceId: request.traceId,
  receivedAt: request.receivedAt.toISOString(),
});

/** The payload of a status-received job, from the reply (its trace id, when the interface echoed it). */
export const statusReceivedJobData = (reply: StatusReply): StatusReceivedJobData => ({
  backupRequestId: reply.backupRequestId,
  traceId: reply.traceId ?? '',
  reply,
});

/** status-received jobs are keyed by request and result: a repeated reply is one job. */
export const statusReceivedJobId = (reply: Pick<StatusReply, 'backupRequestId' | 'resultTypeCode'>): string =>
  `${reply.backupRequestId}-${reply.resultTypeCode}`;
