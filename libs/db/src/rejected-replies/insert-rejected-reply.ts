import type { StatusReply } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

/** A reply that could not be applied, kept with the reason (SPEC §4). */
export async function insertRejectedReply(db: Queryable, reply: StatusReply, reason: string): Promise<void> {
  await db.query(`INSERT INTO rejected_replies (backup_request_id, result_type_code, reason, reply) VALUES ($1, $2, $3, $4)`, [
    reply.backupRequestId,
    reply.resultTypeCode,
    reason,
    JSON.stringify(reply),
  ]);
}
