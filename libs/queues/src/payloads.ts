import type { OutboundBackupRequest } from '@linebacker/domain';

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

/**
 * A wake-up for receive-status: a reply is waiting in the reply inbox (SPEC §4), row `inboxId`.
 * `backupRequestId` and `traceId` are for logs only. `reply`, when present, is a copy of the reply
 * as the inbox row holds it (only for small replies: STATUS_JOB_REPLY_MAX_CHARS), so that the usual
 * case needs no read of the row; it is never trusted (anyone with the queue UI could edit a job):
 * receive-status applies it only in a statement that requires the row to hold exactly that reply,
 * and otherwise reads the row.
 */
export interface StatusReceivedJobData extends RequestJobData {
  inboxId: string;
  reply?: unknown;
}

/** Replies whose message text is longer than this are not copied into their wake-up job. */
export const STATUS_JOB_REPLY_MAX_CHARS = 2048;

/** The payload of a request's job (created, allowed), from the request as stored. */
export const requestJobData = (request: { backupRequestId: string; traceId: string; receivedAt: Date }): RequestJobData => ({
  backupRequestId: request.backupRequestId,
  traceId: request.traceId,
  receivedAt: request.receivedAt.toISOString(),
});

/** The payload of a status-received job, from the inbox row and its reply's ids (and the reply, see above). */
export const statusReceivedJobData = (entry: {
  inboxId: string;
  backupRequestId: string;
  traceId: string | undefined;
  receivedAt: Date;
  reply?: unknown;
}): StatusReceivedJobData => ({
  inboxId: entry.inboxId,
  backupRequestId: entry.backupRequestId,
  traceId: entry.traceId ?? '',
  receivedAt: entry.receivedAt.toISOString(),
  ...(entry.reply === undefined ? {} : { reply: entry.reply }),
});

/** status-received jobs are keyed by inbox row (BullMQ refuses integer ids): a reply is one job. */
export const statusReceivedJobId = (inboxId: string): string => `reply-${inboxId}`;
