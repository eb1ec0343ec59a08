import type { StatusReply } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { preparedStatement } from '../prepared-statement.js';
import type { TransitionFollowUp } from '../backup-requests/transition.js';

/** A valid reply as taken off the interface status queue. */
export interface IncomingReply {
  messageId: string;
  reply: StatusReply;
}

/** A reply as the inbox holds it. */
export interface StoredReply {
  inboxId: string;
  messageId: string;
  /** Already applied (or given up) by receive-status: a re-delivered message of a handled reply. */
  applied: boolean;
  receivedAt: Date;
}

/**
 * Makes replies durable (SPEC §4), in one multi-row INSERT for a whole receive: one row per
 * interface message, so a message delivered again (its delete failed, or the receiver died before
 * deleting it) finds its row instead of adding one. Every reply of `replies` comes back, new or
 * not, so the caller can wake receive-status for those not yet applied.
 */
export async function storeReplies(db: Queryable, sourceQueue: string, replies: IncomingReply[]): Promise<StoredReply[]> {
  if (replies.length === 0) return [];
  const { rows } = await db.query<StoredReply>({
    ...preparedStatement(`INSERT INTO reply_inbox (source_queue, message_id, reply)
       SELECT $1, message_id, reply FROM unnest($2::text[], $3::jsonb[]) AS incoming (message_id, reply)
       ON CONFLICT (source_queue, message_id) DO UPDATE SET message_id = EXCLUDED.message_id
       RETURNING inbox_id::text AS "inboxId", message_id AS "messageId", applied_at IS NOT NULL AS applied,
         received_at AS "receivedAt"`),
    values: [sourceQueue, replies.map((incoming) => incoming.messageId), replies.map((incoming) => JSON.stringify(incoming.reply))],
  });
  return rows;
}

/** An inbox row as receive-status reads it: the reply as stored (to be validated again). */
export interface InboxEntry {
  reply: unknown;
  applied: boolean;
  receivedAt: Date;
}

export async function readInboxEntry(db: Queryable, inboxId: string): Promise<InboxEntry | undefined> {
  const { rows } = await db.query<InboxEntry>({
    ...preparedStatement(`SELECT reply, applied_at IS NOT NULL AS applied, received_at AS "receivedAt"
       FROM reply_inbox WHERE inbox_id = $1`),
    values: [inboxId],
  });
  return rows[0];
}

/**
 * The part of a transition statement that marks the inbox row applied, with what was done, only
 * when the request moved (`moved`, transition.ts): the change and its mark commit together. With
 * `storedReply` (a copy of the reply that did not come from the inbox: the one a wake-up job
 * carries), the request moves only if the row is not applied yet and holds exactly that reply
 * (jsonb equality), so a copy that was edited or is stale changes nothing.
 */
export const markAppliedWhenMoved = (inboxId: string, outcome: string, storedReply?: unknown): TransitionFollowUp => ({
  ctes: (first) => `applied AS (
     UPDATE reply_inbox SET applied_at = now(), outcome = $${first + 1}
     WHERE inbox_id = $${first} AND applied_at IS NULL AND EXISTS (SELECT 1 FROM moved)
   )`,
  ...(storedReply === undefined
    ? { params: [inboxId, outcome] }
    : {
        requires: (first: number) =>
          `EXISTS (SELECT 1 FROM reply_inbox WHERE inbox_id = $${first} AND applied_at IS NULL AND reply = $${first + 2}::jsonb)`,
        params: [inboxId, outcome, JSON.stringify(storedReply)],
      }),
});

/** Marks the inbox row applied with what was done (for a reply that changed nothing). */
export async function markApplied(db: Queryable, inboxId: string, outcome: string): Promise<void> {
  await db.query({
    ...preparedStatement(`UPDATE reply_inbox SET applied_at = now(), outcome = $2 WHERE inbox_id = $1 AND applied_at IS NULL`),
    values: [inboxId, outcome],
  });
}

/**
 * Marks the inbox row applied as rejected and keeps the reply in rejected_replies with the reason
 * (SPEC §4), in one statement; nothing is inserted when the row was already applied. The reply
 * kept is what the row holds, valid or not (one that fails validation again is rejected too).
 */
export async function rejectInboxReply(db: Queryable, inboxId: string, reason: string): Promise<void> {
  await db.query({
    ...preparedStatement(`WITH applied AS (
       UPDATE reply_inbox SET applied_at = now(), outcome = 'rejected: ' || $2
       WHERE inbox_id = $1 AND applied_at IS NULL
       RETURNING message_id, reply
     )
     INSERT INTO rejected_replies (backup_request_id, result_type_code, reason, reply, message_id)
     SELECT CASE WHEN reply->>'backupRequestId' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                 THEN (reply->>'backupRequestId')::uuid END,
            reply->>'resultTypeCode', $2, reply, message_id
     FROM applied`),
    values: [inboxId, reason],
  });
}

/** An inbox row not yet applied, for reconciliation to wake receive-status for it again. */
export interface UnappliedReply {
  inboxId: string;
  backupRequestId: string;
  traceId: string;
  receivedAt: Date;
}

/** The oldest inbox rows not applied and stored before `storedBefore`. */
export async function findUnappliedReplies(db: Queryable, storedBefore: Date, limit: number): Promise<UnappliedReply[]> {
  const { rows } = await db.query<UnappliedReply>(
    `SELECT inbox_id::text AS "inboxId", coalesce(reply->>'backupRequestId', '') AS "backupRequestId",
       coalesce(reply->>'traceId', '') AS "traceId", received_at AS "receivedAt"
     FROM reply_inbox WHERE applied_at IS NULL AND received_at < $1
     ORDER BY received_at LIMIT $2`,
    [storedBefore, limit],
  );
  return rows;
}

/** Of the inbox rows `inboxIds`, those still not applied now. */
export async function repliesStillUnapplied(db: Queryable, inboxIds: string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT inbox_id::text AS id FROM reply_inbox WHERE inbox_id = ANY($1::bigint[]) AND applied_at IS NULL`,
    [inboxIds],
  );
  return rows.map((row) => row.id);
}
